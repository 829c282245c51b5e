package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

// noteIssued registers every token a fake issued with the leak check.
func noteIssued(origin string, tokens []string) {
	for _, tok := range tokens {
		noteSecret(tok, origin)
	}
}

// googleConfig has a GAR host, a bearer host with an ID token for its own
// name, and a pair host with an ID token for an explicit audience.
const googleConfig = header + `hosts:
- host: us-docker.pkg.dev
  provider: gar
- host: registry.example.com
  credential:
    provider: gcp
- host: signed.example.com
  username: gcp-id
  credential:
    provider: gcp
    aud: https://signed.example.com/api
`

// TestSecretGoogleMetadataServer runs secret on a GKE-like pod: every
// token comes from the metadata server.
func TestSecretGoogleMetadataServer(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	gce := fakecloud.NewGCE(t)
	t.Setenv("GCE_METADATA_HOST", gce.Host)
	hn := fakecloud.NewHostNet(t)
	t.Cleanup(func() { noteIssued("GCE metadata token", gce.Issued()) })
	ns := grantRole(t, "alice", false)
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", googleConfig)

	r := runWith(t, credential.Options{HTTPClient: hn.Client()}, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	auths := dockerConfig(t, ns, "regcreds")
	if len(auths) != 3 {
		t.Fatalf("auths %v", keys(auths))
	}
	gar := auths["us-docker.pkg.dev"]["password"]
	wantPair(t, auths["us-docker.pkg.dev"], "oauth2accesstoken", gar)
	if scopes, ok := gce.AccessScopes(gar); !ok || scopes != fakecloud.CloudPlatformScope {
		t.Errorf("GAR password: issued by the metadata server %v, scopes %q", ok, scopes)
	}
	bearer := auths["registry.example.com"]
	if aud, ok := gce.IDAudience(bearer["registrytoken"]); !ok || aud != "registry.example.com" || len(bearer) != 1 {
		t.Errorf("registry.example.com: entry keys %v, ID token issued %v for %q", keys(bearer), ok, aud)
	}
	pair := auths["signed.example.com"]
	wantPair(t, pair, "gcp-id", pair["password"])
	if aud, ok := gce.IDAudience(pair["password"]); !ok || aud != "https://signed.example.com/api" {
		t.Errorf("signed.example.com: ID token issued %v for %q", ok, aud)
	}
	for _, want := range []string{
		`• us-docker.pkg.dev: username "oauth2accesstoken" and password, expires `,
		"• registry.example.com: bearer token, expires ",
		`• signed.example.com: username "gcp-id" and password, expires `,
		"✔ secret " + ns + "/regcreds created (3 hosts)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestSecretGoogleFederation runs secret outside Google Cloud with a
// workload identity federation file that impersonates a service account:
// STS trades the cluster's token, IAM Credentials mints the tokens.
func TestSecretGoogleFederation(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	apis := fakecloud.NewGoogleAPIs(t, hn)
	t.Cleanup(func() { noteIssued("Google API token", apis.Issued()) })
	const sa = "flux-mirror@fake-project.iam.gserviceaccount.com"
	dir := t.TempDir()
	subject := writeFile(t, dir, "oidc-token", "projected-token-for-google-sts")
	noteSecret("projected-token-for-google-sts", "subject token file")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeFile(t, dir, "wif.json", string(apis.ExternalAccountJSON(t, subject, sa))))
	ns := grantRole(t, "alice", false)
	cfg := writeFile(t, dir, "mirror.yaml", googleConfig)

	r := runWith(t, credential.Options{HTTPClient: hn.Client()}, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	auths := dockerConfig(t, ns, "regcreds")
	gar := auths["us-docker.pkg.dev"]["password"]
	wantPair(t, auths["us-docker.pkg.dev"], "oauth2accesstoken", gar)
	if owner, ok := apis.AccessTokenOwner(gar); !ok || owner != sa {
		t.Errorf("GAR password: issued %v to %q, want an access token of %s", ok, owner, sa)
	}
	if aud, ok := apis.IDAudience(auths["registry.example.com"]["registrytoken"]); !ok || aud != "registry.example.com" {
		t.Errorf("registry.example.com: ID token issued %v for %q", ok, aud)
	}
	if aud, ok := apis.IDAudience(auths["signed.example.com"]["password"]); !ok || aud != "https://signed.example.com/api" {
		t.Errorf("signed.example.com: ID token issued %v for %q", ok, aud)
	}
	for _, s := range apis.SubjectTokens() {
		if s != "projected-token-for-google-sts" {
			t.Errorf("STS got subject token %q, want the file's", s)
		}
	}
	if !strings.Contains(r.stderr, `• us-docker.pkg.dev: username "oauth2accesstoken" and password, expires `) {
		t.Errorf("no expiry for GAR:\n%s", r.stderr)
	}
}

// TestSecretGoogleMetadataTimeout points the metadata server at a listener
// that never answers: --timeout must end the run with one ✗ line and
// nothing written.
func TestSecretGoogleMetadataTimeout(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	t.Setenv("GCE_METADATA_HOST", fakecloud.DeadGCEMetadataHost(t))
	hn := fakecloud.NewHostNet(t)
	ns := grantRole(t, "alice", false)
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", googleConfig)
	deadlineRun(t, hn, ns, cfg, "us-docker.pkg.dev", "registry.example.com")
}

// deadlineRun runs secret with --timeout 1s against an endpoint that never
// answers and checks the failure: one ✗ line that says it timed out and
// names the hosts, within the timeout + 1 s, and no Secret.
func deadlineRun(t *testing.T, hn *fakecloud.HostNet, ns, cfg string, hosts ...string) {
	t.Helper()
	start := time.Now()
	r := runWith(t, credential.Options{HTTPClient: hn.Client()}, nil, "secret", "regcreds", "--timeout", "1s", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	elapsed := time.Since(start)
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "timed out after 1s") {
		t.Fatalf("want one ✗ line saying it timed out, got:\n%s", r.stderr)
	}
	for _, h := range hosts {
		if !strings.Contains(lines[0], `host "`+h+`"`) {
			t.Errorf("the ✗ line does not name %s: %s", h, lines[0])
		}
	}
	if elapsed > 2*time.Second {
		t.Errorf("returned after %s, want within --timeout 1s + 1s", elapsed)
	}
	_, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was written: %v", err)
	}
}
