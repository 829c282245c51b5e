package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

const testECRHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

// useIRSA sets up the web identity of an annotated ServiceAccount against
// STS at stsURL.
func useIRSA(t *testing.T, stsURL string) {
	t.Helper()
	noteSecret("projected-sa-token-c41d", "IRSA projected token")
	t.Setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flux-mirror")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", writeFile(t, t.TempDir(), "token", "projected-sa-token-c41d"))
	t.Setenv("AWS_ENDPOINT_URL_STS", stsURL)
}

// noteFake registers every secret the fake made or received.
func noteFake(f *fakecloud.AWS) {
	for _, s := range f.Secrets() {
		noteSecret(s, "fake AWS secret")
	}
}

func TestSecretECR(t *testing.T) {
	identities := map[string]func(t *testing.T, f *fakecloud.AWS){
		"IRSA": func(t *testing.T, f *fakecloud.AWS) { useIRSA(t, f.URL) },
		"Pod Identity": func(t *testing.T, f *fakecloud.AWS) {
			t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f.PodIdentityURL)
			t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", writeFile(t, t.TempDir(), "token", f.PodIdentityToken))
		},
		"static keys": func(t *testing.T, f *fakecloud.AWS) {
			id, secret := f.StaticKey()
			t.Setenv("AWS_ACCESS_KEY_ID", id)
			t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		},
	}
	for name, setup := range identities {
		t.Run(name, func(t *testing.T) {
			fakecloud.IsolateAWS(t)
			f := fakecloud.NewAWS(t)
			setup(t, f)
			t.Setenv("AWS_ENDPOINT_URL_ECR", f.URL)
			t.Setenv("AWS_ENDPOINT_URL_ECR_PUBLIC", f.URL)
			ns := grantRole(t, "alice", false)
			dir := t.TempDir()
			writeFile(t, dir, "mirror.yaml", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n"+
				"  - host: "+testECRHost+"\n    provider: ecr\n  - host: public.ecr.aws\n    provider: ecr\n")

			r := run(t, nil, "secret", "regcreds", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kubeconfig(t, "alice", ns))
			noteFake(f)
			if r.err != nil {
				t.Fatalf("secret: %v\n%s", r.err, r.stderr)
			}
			for _, want := range []string{
				"• " + testECRHost + `: username "AWS" and password, expires `,
				"✔ secret " + ns + "/regcreds created (2 hosts)",
			} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			auths := dockerConfig(t, ns, "regcreds")
			pw := f.ECRPasswords()
			if len(auths) != 2 || len(pw) != 2 {
				t.Fatalf("auths %v, %d passwords issued; want both hosts", keys(auths), len(pw))
			}
			// Both hosts resolve concurrently: match by the password.
			private, public := auths[testECRHost], auths["public.ecr.aws"]
			if private["password"] == pw[1] {
				pw[0], pw[1] = pw[1], pw[0]
			}
			wantPair(t, private, "AWS", pw[0])
			wantPair(t, public, "AWS", pw[1])
		})
	}
}

// envelopeRequest decodes the sts request of an aws envelope.
func envelopeRequest(t *testing.T, token string) (aud string, req struct {
	Method, URL, Body string
	Headers           map[string]string
}) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("envelope has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var p struct {
		Aud string `json:"aud"`
		STS *struct {
			Method, URL, Body string
			Headers           map[string]string
		} `json:"sts"`
	}
	must(t, json.Unmarshal(b, &p))
	if p.STS == nil {
		t.Fatal("envelope without sts request")
	}
	return p.Aud, *p.STS
}

// replayToSTS sends the envelope's request as a registry would and returns
// the caller's ARN.
func replayToSTS(t *testing.T, token string) (aud, arn string) {
	t.Helper()
	aud, s := envelopeRequest(t, token)
	req, err := http.NewRequest(s.Method, s.URL, strings.NewReader(s.Body))
	must(t, err)
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("STS refused the replayed envelope: %d %s", resp.StatusCode, body)
	}
	id, err := fakecloud.ParseCallerIdentity(body)
	must(t, err)
	return aud, id.Arn
}

func TestSecretAWSEnvelope(t *testing.T) {
	fakecloud.IsolateAWS(t)
	f := fakecloud.NewAWS(t)
	useIRSA(t, f.URL)
	t.Setenv("AWS_REGION", "eu-central-1")
	ns := grantRole(t, "alice", false)
	dir := t.TempDir()
	writeFile(t, dir, "mirror.yaml", `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: bearer.example.com
    credential:
      provider: aws
      aud: https://bearer.example.com
  - host: basic.example.com
    username: aws-envelope
    credential:
      provider: aws
`)
	r := run(t, nil, "secret", "regcreds", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kubeconfig(t, "alice", ns))
	noteFake(f)
	if r.err != nil {
		t.Fatalf("secret: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "⚠️ bearer.example.com gets a bearer token") {
		t.Errorf("no bearer warning:\n%s", r.stderr)
	}
	auths := dockerConfig(t, ns, "regcreds")
	bearer, basic := auths["bearer.example.com"]["registrytoken"], auths["basic.example.com"]["password"]
	noteSecret(bearer, "aws envelope (registrytoken)")
	noteSecret(basic, "aws envelope (password)")
	if len(auths["bearer.example.com"]) != 1 || bearer == "" {
		t.Fatalf("bearer entry has keys %v, want registrytoken only", keys(auths["bearer.example.com"]))
	}
	wantPair(t, auths["basic.example.com"], "aws-envelope", basic)
	for token, wantAud := range map[string]string{bearer: "https://bearer.example.com", basic: "basic.example.com"} {
		aud, arn := replayToSTS(t, token)
		if aud != wantAud || !strings.HasPrefix(arn, "arn:aws:sts::123456789012:assumed-role/irsa-role/") {
			t.Errorf("envelope for %s: aud %q, caller %q", wantAud, aud, arn)
		}
	}
}

// TestSecretAWSDeadEndpoint: STS never answers; --timeout must hold for
// both providers, report each host, and write nothing.
func TestSecretAWSDeadEndpoint(t *testing.T) {
	fakecloud.IsolateAWS(t)
	useIRSA(t, "http://"+fakecloud.Dead(t))
	t.Setenv("AWS_REGION", "us-east-1")
	ns := grantRole(t, "alice", false)
	dir := t.TempDir()
	writeFile(t, dir, "mirror.yaml", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n"+
		"  - host: "+testECRHost+"\n    provider: ecr\n  - host: envelope.example.com\n    credential:\n      provider: aws\n")
	start := time.Now()
	r := run(t, nil, "secret", "regcreds", "--timeout", "1s", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kubeconfig(t, "alice", ns))
	elapsed := time.Since(start)
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 {
		t.Fatalf("want one ✗ line, got:\n%s", r.stderr)
	}
	for _, want := range []string{"timed out after 1s", `host "` + testECRHost + `"`, `host "envelope.example.com"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("✗ line lacks %q: %s", want, lines[0])
		}
	}
	if elapsed > 2*time.Second {
		t.Errorf("returned after %s, want within --timeout 1s + 1 s", elapsed)
	}
	_, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was written: %v", err)
	}
}
