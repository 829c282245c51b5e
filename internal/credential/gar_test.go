package credential

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/metadata"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

// writeTemp writes content to a new file in a temporary directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// near fails unless got is within a minute of want.
func near(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, want about %v", what, got, want)
	}
}

func TestGARFromMetadataServer(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	gce := fakecloud.NewGCE(t)
	t.Setenv("GCE_METADATA_HOST", gce.Host)
	hn := fakecloud.NewHostNet(t)

	c, err := fromGAR(context.Background(), registryRequest{host: "us-docker.pkg.dev", http: hn.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "oauth2accesstoken" {
		t.Errorf("username %q", c.Username)
	}
	scopes, ok := gce.AccessScopes(c.Password)
	if !ok || scopes != fakecloud.CloudPlatformScope {
		t.Errorf("password is not the metadata server's access token for cloud-platform (issued %v, scopes %q)", ok, scopes)
	}
	near(t, "expiry", c.ExpiresAt, time.Now().Add(time.Hour))
}

func TestGARFromWorkloadIdentityFederation(t *testing.T) {
	for _, impersonate := range []string{"", "gar-reader@fake-project.iam.gserviceaccount.com"} {
		t.Run("impersonate="+impersonate, func(t *testing.T) {
			fakecloud.IsolateGoogleAzure(t)
			hn := fakecloud.NewHostNet(t)
			apis := fakecloud.NewGoogleAPIs(t, hn)
			gce := fakecloud.NewGCE(t) // present, and must not be asked
			t.Setenv("GCE_METADATA_HOST", gce.Host)
			subject := writeTemp(t, "token", "projected-oidc-token-for-sts")
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeTemp(t, "wif.json", string(apis.ExternalAccountJSON(t, subject, impersonate))))

			c, err := fromGAR(context.Background(), registryRequest{host: "europe-docker.pkg.dev", http: hn.Client()})
			if err != nil {
				t.Fatal(err)
			}
			owner, ok := apis.AccessTokenOwner(c.Password)
			want := "principal://federated/" + fakecloud.CloudPlatformScope
			if impersonate != "" {
				want = impersonate
			}
			if c.Username != "oauth2accesstoken" || !ok || owner != want {
				t.Errorf("username %q; password issued %v to %q, want to %q", c.Username, ok, owner, want)
			}
			if got := apis.SubjectTokens(); len(got) != 1 || got[0] != "projected-oidc-token-for-sts" {
				t.Errorf("STS saw subject tokens %q, want the file's", got)
			}
			if reqs := gce.Requests(); len(reqs) != 0 {
				t.Errorf("the metadata server was asked %v although a credentials file is set", reqs)
			}
			near(t, "expiry", c.ExpiresAt, time.Now().Add(time.Hour))
		})
	}
}

func TestGARFromServiceAccountKey(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	apis := fakecloud.NewGoogleAPIs(t, hn)
	const email = "pusher@fake-project.iam.gserviceaccount.com"
	// gcloud's well-known file, found through HOME.
	dir := filepath.Join(os.Getenv("HOME"), ".config", "gcloud")
	must(t, os.MkdirAll(dir, 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "application_default_credentials.json"), apis.ServiceAccountKeyJSON(t, email), 0o600))

	c, err := fromGAR(context.Background(), registryRequest{host: "gcr.io", http: hn.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if owner, ok := apis.AccessTokenOwner(c.Password); !ok || owner != email {
		t.Errorf("password issued %v to %q, want a token for %s", ok, owner, email)
	}
}

// TestGoogleDeadMetadataServer points the metadata server at a listener
// that never answers: both Google sources must give up with ctx, naming
// the server.
func TestGoogleDeadMetadataServer(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	dead := fakecloud.DeadGCEMetadataHost(t)
	t.Setenv("GCE_METADATA_HOST", dead)
	hn := fakecloud.NewHostNet(t)
	sources := map[string]func(context.Context) error{
		"gar": func(ctx context.Context) error {
			_, err := fromGAR(ctx, registryRequest{host: "us-docker.pkg.dev", http: hn.Client()})
			return err
		},
		"gcp": func(ctx context.Context) error {
			_, err := fromGCP(ctx, tokenRequest{http: hn.Client(), host: "r.example", aud: "r.example"})
			return err
		},
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			err := src(ctx)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("returned after %s, want within the 1s deadline + 1s", elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "metadata server at "+dead) {
				t.Errorf("err = %v, want a deadline error naming the metadata server %s", err, dead)
			}
		})
	}
}

// TestGoogleNoCredentials runs in a child process: whether a metadata
// server is there is remembered per process, and the child has no
// GCE_METADATA_HOST, so it asks the real link-local address.
func TestGoogleNoCredentials(t *testing.T) {
	if os.Getenv("FLUX_MIRROR_GOOGLE_CHILD") != "1" {
		fakecloud.IsolateGoogleAzure(t)
		cmd := exec.Command(os.Args[0], "-test.run=^TestGoogleNoCredentials$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "FLUX_MIRROR_GOOGLE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestGoogleNoCredentials") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	if metadata.OnGCE() {
		t.Skip("this machine has a real GCE metadata server, so it has Google credentials")
	}
	hn := fakecloud.NewHostNet(t)
	ctx := context.Background()
	_, errGAR := fromGAR(ctx, registryRequest{host: "us-docker.pkg.dev", http: hn.Client()})
	_, errGCP := fromGCP(ctx, tokenRequest{http: hn.Client(), host: "r.example", aud: "r.example"})
	for _, err := range []error{errGAR, errGCP} {
		if err == nil || !strings.Contains(err.Error(), "no Google credentials found") ||
			!strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") || !strings.Contains(err.Error(), "Workload Identity") ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("err = %v, want one line saying how to set up credentials", err)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
