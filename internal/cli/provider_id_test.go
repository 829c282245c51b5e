package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

const actionsConfig = `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: ghcr.io
    credential:
      provider: github
  - host: gh-pair.example.com
    username: gh
    credential:
      provider: github
      aud: https://gh-pair.example.com/token
  - host: codeberg.org
    credential:
      provider: forgejo
  - host: forgejo.example.com
    username: ci
    credential:
      provider: forgejo
`

// TestSecretActions runs secret inside a simulated Actions job: the runner's
// variables point at a loopback token endpoint, and every ID token in the
// Secret must verify for its host's audience.
func TestSecretActions(t *testing.T) {
	fake := fakecloud.NewActions(t)
	fake.Setenv(t)
	noteSecret(fake.RequestToken, "Actions request token")
	ns := grantRole(t, "alice", false)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "mirror.yaml", actionsConfig)

	r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	if r.err != nil {
		t.Fatalf("secret: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "✔ secret "+ns+"/regcreds created (4 hosts)") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	auths := dockerConfig(t, ns, "regcreds")
	if len(auths) != 4 {
		t.Fatalf("auths has %d entries, want 4: %v", len(auths), keys(auths))
	}
	for _, tc := range []struct{ host, username, aud string }{
		{"ghcr.io", "", "ghcr.io"},
		{"gh-pair.example.com", "gh", "https://gh-pair.example.com/token"},
		{"codeberg.org", "", "codeberg.org"},
		{"forgejo.example.com", "ci", "forgejo.example.com"},
	} {
		e := auths[tc.host]
		token := e["registrytoken"]
		if tc.username != "" {
			token = e["password"]
			wantPair(t, e, tc.username, token)
		} else if len(e) != 1 {
			t.Errorf("%s: entry keys %v, want registrytoken only", tc.host, keys(e))
		}
		noteSecret(token, "Actions ID token for "+tc.host)
		if _, err := fake.Verify(token, tc.aud); err != nil {
			t.Errorf("%s: the ID token does not verify for audience %q: %v", tc.host, tc.aud, err)
		}
	}
	if n := len(fake.Audiences()); n != 4 {
		t.Errorf("the endpoint issued %d tokens, want 4", n)
	}
}

func TestSecretActionsWithoutIDTokenPermission(t *testing.T) {
	for _, k := range []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
		t.Setenv(k, "") // restores the variable afterwards
		must(t, os.Unsetenv(k))
	}
	ns := grantRole(t, "alice", false)
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", actionsConfig)
	r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns), "--host", "ghcr.io")
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "id-token: write") ||
		!strings.Contains(lines[0], `host "ghcr.io"`) {
		t.Fatalf("want one ✗ line naming the host and id-token: write, got:\n%s", r.stderr)
	}
	_, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was written: %v", err)
	}
}

// TestSecretJWTSVID runs secret against a real SPIRE agent. SPIRE starts and
// stops within this test.
func TestSecretJWTSVID(t *testing.T) {
	spire, err := testenv.StartSPIRE()
	if err != nil {
		t.Fatal(err)
	}
	defer spire.Stop()
	t.Logf("SPIRE: first JWT-SVID %v after the agent started", spire.FirstSVID)
	bundle, err := spire.JWTBundle(context.Background())
	must(t, err)
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", spire.SocketAddr)

	ns := grantRole(t, "alice", false)
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: registry.example.com
    username: spiffe
    credential:
      provider: jwt-svid
  - host: oci.example.com
    credential:
      provider: jwt-svid
      aud: https://oci.example.com
`)
	r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	if r.err != nil {
		t.Fatalf("secret: %v\n%s", r.err, r.stderr)
	}
	auths := dockerConfig(t, ns, "regcreds")
	pair := auths["registry.example.com"]
	noteSecret(pair["password"], "JWT-SVID password")
	wantPair(t, pair, "spiffe", pair["password"])
	bearer := auths["oci.example.com"]["registrytoken"]
	noteSecret(bearer, "JWT-SVID bearer token")
	for _, tc := range []struct{ token, aud string }{
		{pair["password"], "registry.example.com"},
		{bearer, "https://oci.example.com"},
	} {
		svid, err := jwtsvid.ParseAndValidate(tc.token, bundle, []string{tc.aud})
		if err != nil {
			t.Errorf("the JWT-SVID for %s does not validate against SPIRE's bundle: %v", tc.aud, err)
			continue
		}
		if svid.ID.String() != testenv.SPIREWorkloadID {
			t.Errorf("sub = %s, want %s", svid.ID, testenv.SPIREWorkloadID)
		}
	}

	wantUnchangedWithoutSocket(t, ns, cfg)
}

// wantUnchangedWithoutSocket reruns secret without SPIFFE_ENDPOINT_SOCKET:
// the user learns why it failed and the Secret stays as it was.
func wantUnchangedWithoutSocket(t *testing.T, ns, cfg string) {
	t.Helper()
	secrets := admin(t).CoreV1().Secrets(ns)
	before, err := secrets.Get(context.Background(), "regcreds", metav1.GetOptions{})
	must(t, err)
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", "")
	must(t, os.Unsetenv("SPIFFE_ENDPOINT_SOCKET"))
	r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "SPIFFE_ENDPOINT_SOCKET is not set") {
		t.Fatalf("want one ✗ line naming SPIFFE_ENDPOINT_SOCKET, got:\n%s", r.stderr)
	}
	after, err := secrets.Get(context.Background(), "regcreds", metav1.GetOptions{})
	must(t, err)
	if after.ResourceVersion != before.ResourceVersion {
		t.Error("the Secret changed although the host failed")
	}
}
