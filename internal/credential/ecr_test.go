package credential

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

// ecrIdentities sets up each way the default chain finds an identity, all
// against the fake: it returns the STS or Pod Identity call the chain must
// make first ("" for static keys) and checks what the fake saw.
var ecrIdentities = []struct {
	name  string
	setup func(t *testing.T, f *fakecloud.AWS) (first string, check func(*testing.T, fakecloud.AWSCall))
}{
	{"static keys", func(t *testing.T, f *fakecloud.AWS) (string, func(*testing.T, fakecloud.AWSCall)) {
		id, secret := f.StaticKey()
		t.Setenv("AWS_ACCESS_KEY_ID", id)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		return "", nil
	}},
	{"IRSA", func(t *testing.T, f *fakecloud.AWS) (string, func(*testing.T, fakecloud.AWSCall)) {
		t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flux-mirror")
		t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tempFile(t, "token", "projected-sa-token-5b7e"))
		t.Setenv("AWS_ENDPOINT_URL_STS", f.URL)
		return "AssumeRoleWithWebIdentity", func(t *testing.T, c fakecloud.AWSCall) {
			if c.WebIdentityToken != "projected-sa-token-5b7e" || c.RoleARN != "arn:aws:iam::123456789012:role/flux-mirror" {
				t.Errorf("STS got token %q for role %q, want the projected token for the annotated role", c.WebIdentityToken, c.RoleARN)
			}
		}
	}},
	{"Pod Identity", func(t *testing.T, f *fakecloud.AWS) (string, func(*testing.T, fakecloud.AWSCall)) {
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f.PodIdentityURL)
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tempFile(t, "eks-pod-identity-token", f.PodIdentityToken))
		return "PodIdentity", nil
	}},
}

func TestECR(t *testing.T) {
	for _, id := range ecrIdentities {
		t.Run(id.name, func(t *testing.T) {
			fakecloud.IsolateAWS(t)
			f := fakecloud.NewAWS(t)
			first, check := id.setup(t, f)
			t.Setenv("AWS_ENDPOINT_URL_ECR", f.URL)
			t.Setenv("AWS_REGION", "eu-west-1") // the host's region wins
			hc := newCountingClient(nil)

			c, err := Resolve(context.Background(), ".", config.Host{Host: ecrHost, Provider: "ecr"}, Options{HTTPClient: hc.Client})
			if err != nil {
				t.Fatal(err)
			}
			calls := f.Calls()
			if pw := f.ECRPasswords(); len(pw) != 1 || c.Username != "AWS" || c.Password != pw[0] || c.Host != ecrHost {
				t.Fatalf("got %v (password from the fake: %t)", c, len(pw) == 1 && c.Password == pw[0])
			}
			wantExpiry(t, c.ExpiresAt, fakecloud.ECRTokenLifetime)
			ecrCall := calls[len(calls)-1]
			if ecrCall.Action != fakecloud.ECRTarget || ecrCall.Sig.Region != "us-west-2" || ecrCall.Sig.Service != "ecr" {
				t.Errorf("ECR call = %+v, want GetAuthorizationToken signed for ecr in us-west-2", ecrCall)
			}
			if first != "" {
				if len(calls) != 2 || calls[0].Action != first || calls[0].Err != "" {
					t.Fatalf("calls = %+v, want %s then the ECR call", calls, first)
				}
				if strings.HasPrefix(ecrCall.Sig.AccessKeyID, "AKIA") {
					t.Errorf("ECR call signed with a long-term key, not the %s session", first)
				}
				if check != nil {
					check(t, calls[0])
				}
			}
			if int(hc.n.Load()) != len(calls) {
				t.Errorf("the injected client sent %d requests, the fake saw %d", hc.n.Load(), len(calls))
			}
		})
	}
}

// wantExpiry checks that expiry is lifetime from now, to the second.
func wantExpiry(t *testing.T, expiry time.Time, lifetime time.Duration) {
	t.Helper()
	if d := time.Until(expiry) - lifetime; d > 2*time.Second || d < -5*time.Second {
		t.Errorf("expires at %s, want about %s from now", expiry, lifetime)
	}
}

func TestECRPublic(t *testing.T) {
	fakecloud.IsolateAWS(t)
	f := fakecloud.NewAWS(t)
	id, secret := f.StaticKey()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_ENDPOINT_URL_ECR_PUBLIC", f.URL)

	c, err := Resolve(context.Background(), ".", config.Host{Host: "public.ecr.aws", Provider: "ecr"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.Calls()
	if pw := f.ECRPasswords(); len(pw) != 1 || c.Username != "AWS" || c.Password != pw[0] {
		t.Fatalf("got %v", c)
	}
	wantExpiry(t, c.ExpiresAt, fakecloud.ECRTokenLifetime)
	if len(calls) != 1 || calls[0].Action != fakecloud.ECRPublicTarget || calls[0].Sig.Region != "us-east-1" || calls[0].Sig.Service != "ecr-public" {
		t.Errorf("calls = %+v, want one ECR Public call signed for ecr-public in us-east-1", calls)
	}
}

// TestECRFIPS sends the SDK's requests to the fake through the injected
// transport, keeping the Host they were addressed to: a FIPS registry
// must reach the FIPS endpoint of the ECR API.
func TestECRFIPS(t *testing.T) {
	fakecloud.IsolateAWS(t)
	f := fakecloud.NewAWS(t)
	id, secret := f.StaticKey()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	fake, _ := url.Parse(f.URL)
	var hosts []string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hosts = append(hosts, r.URL.Host)
		r = r.Clone(r.Context())
		r.Host, r.URL.Scheme, r.URL.Host = r.URL.Host, fake.Scheme, fake.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
	for host, want := range map[string]string{
		"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com": "api.ecr-fips.us-east-1.amazonaws.com",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com":      "api.ecr.us-east-1.amazonaws.com",
	} {
		hosts = nil
		if _, err := Resolve(context.Background(), ".", config.Host{Host: host, Provider: "ecr"}, Options{HTTPClient: hc}); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if len(hosts) != 1 || hosts[0] != want {
			t.Errorf("%s: the SDK called %v, want %s", host, hosts, want)
		}
	}
}

func TestECRNoCredentials(t *testing.T) {
	fakecloud.IsolateAWS(t)
	_, err := Resolve(context.Background(), ".", config.Host{Host: ecrHost, Provider: "ecr"}, Options{})
	wantNoCredentials(t, err, ecrHost)
}

// TestECRNoCredentialsOffEC2: with the instance metadata service enabled
// but not answering (a machine outside EC2), the helpful error still comes,
// once the SDK gives up on the service (5 s), not at the deadline.
func TestECRNoCredentialsOffEC2(t *testing.T) {
	fakecloud.IsolateAWS(t)
	fakecloud.Unsetenv(t, "AWS_EC2_METADATA_DISABLED")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+fakecloud.Dead(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Resolve(ctx, ".", config.Host{Host: ecrHost, Provider: "ecr"}, Options{})
	wantNoCredentials(t, err, ecrHost)
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %s, want about 5 s", elapsed)
	}
}

func wantNoCredentials(t *testing.T, err error, host string) {
	t.Helper()
	if err == nil {
		t.Fatal("resolved without any AWS credentials")
	}
	for _, want := range []string{`host "` + host + `": `, "no AWS credentials found", "eks.amazonaws.com/role-arn", "Pod Identity", "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestECRRefused(t *testing.T) {
	fakecloud.IsolateAWS(t)
	f := fakecloud.NewAWS(t)
	id, secret := f.StaticKey()
	t.Setenv("AWS_ENDPOINT_URL_ECR", f.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	host := config.Host{Host: ecrHost, Provider: "ecr"}

	t.Run("wrong secret key", func(t *testing.T) {
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret+"x")
		_, err := Resolve(context.Background(), ".", host, Options{})
		if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
			t.Fatalf("err = %v, want the fake to refuse the signature", err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Error("the error shows the secret key")
		}
	})
	t.Run("access denied", func(t *testing.T) {
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		f.Deny(fakecloud.ECRTarget)
		_, err := Resolve(context.Background(), ".", host, Options{})
		if err == nil || !strings.Contains(err.Error(), "needs ecr:GetAuthorizationToken") {
			t.Fatalf("err = %v, want it to name the missing permission", err)
		}
	})
}

// TestECRCABundle serves the fake over HTTPS with its own CA. The injected
// client trusts nothing special, so the call works only because the SDK
// applied AWS_CA_BUNDLE, and fails without it.
func TestECRCABundle(t *testing.T) {
	fakecloud.IsolateAWS(t)
	f := fakecloud.NewAWSTLS(t)
	id, secret := f.StaticKey()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_ENDPOINT_URL_ECR", f.URL)
	host := config.Host{Host: ecrHost, Provider: "ecr"}
	hc := newCountingClient(nil)

	_, err := Resolve(context.Background(), ".", host, Options{HTTPClient: hc.Client})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the bundle: err = %v, want a certificate error", err)
	}
	t.Setenv("AWS_CA_BUNDLE", tempFile(t, "ca.pem", string(f.CACert)))
	c, err := Resolve(context.Background(), ".", host, Options{HTTPClient: &http.Client{Transport: &http.Transport{}}})
	if err != nil || c.Password == "" {
		t.Fatalf("with AWS_CA_BUNDLE: %v, %v", c, err)
	}
}

// TestECRDeadEndpoint points STS (IRSA) or ECR at a listener that never
// answers: the deadline must hold.
func TestECRDeadEndpoint(t *testing.T) {
	for _, which := range []string{"STS", "ECR"} {
		t.Run(which, func(t *testing.T) {
			fakecloud.IsolateAWS(t)
			dead := "http://" + fakecloud.Dead(t)
			if which == "STS" {
				t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flux-mirror")
				t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tempFile(t, "token", "projected-sa-token"))
				t.Setenv("AWS_ENDPOINT_URL_STS", dead)
			} else {
				t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
				t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
				t.Setenv("AWS_ENDPOINT_URL_ECR", dead)
			}
			wantDeadline(t, config.Host{Host: ecrHost, Provider: "ecr"})
		})
	}
}

// wantDeadline resolves h under a 1 s deadline and wants a timely error
// that names the host and the deadline.
func wantDeadline(t *testing.T, h config.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := Resolve(ctx, ".", h, Options{})
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `host "`+h.Host+`"`) || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("err = %v, want the host and context deadline exceeded", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("returned after %s, want within the 1 s deadline (+1 s)", elapsed)
	}
}
