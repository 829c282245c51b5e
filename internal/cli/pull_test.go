package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// secretDockerConfig writes the .dockerconfigjson of the Secret ns/name, as
// read back from the API server, into a new Docker config directory: what a
// client would get from that Secret and nothing else.
func secretDockerConfig(t *testing.T, ns, name string) string {
	t.Helper()
	auths := dockerConfig(t, ns, name)
	raw, err := json.Marshal(map[string]any{"auths": auths})
	must(t, err)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o600))
	return dir
}

// skopeoInspect asks skopeo for ref's digest with the Docker config in dir
// as its only credentials.
func skopeoInspect(t *testing.T, dir, ref string) (string, error) {
	t.Helper()
	return testenv.RunClient(t, testenv.SystemTool(t, "skopeo", "skopeo"), dir, nil,
		"inspect", "--tls-verify=false", "--authfile", filepath.Join(dir, "config.json"),
		"--format", "{{.Digest}}", "docker://"+ref)
}

// TestSecretPulls writes a Secret for an htpasswd registry (username and
// password) and a JWKS token registry (bearer), reads it back from the API
// server and pulls from both with crane, oras and skopeo using nothing
// else.
func TestSecretPulls(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir := t.TempDir()
	basic, password, basicRef, basicDigest := htpasswdRegistry(t)
	noteSecret(password, "htpasswd password")
	bearer, key, bearerRef, bearerDigest := tokenRegistry(t, dir)
	token := signAccess(t, key, "demo/hello", "pull")
	cfg := writeFile(t, dir, "mirror.yaml", header+"hosts:\n"+
		"- host: "+basic.Host+"\n  username: robot\n  credential:\n    value: "+password+"\n"+
		"- host: "+bearer.Host+"\n  credential:\n    value: "+token+"\n")
	if r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns)); r.err != nil {
		t.Fatal(r.stderr)
	}
	docker := secretDockerConfig(t, ns, "regcreds")

	t.Run("username and password", func(t *testing.T) {
		pullWith(t, docker, nil, basicRef, basicDigest, "crane", "oras")
		out, err := skopeoInspect(t, docker, basicRef)
		if err != nil || strings.TrimSpace(out) != basicDigest {
			t.Errorf("skopeo inspect %s = %q (%v), want %s", basicRef, out, err, basicDigest)
		}
	})
	t.Run("bearer token", func(t *testing.T) {
		pullWith(t, docker, nil, bearerRef, bearerDigest, "crane", "oras")
		// skopeo (containers/image) reads no registrytoken: it goes to the
		// realm without credentials and is refused. kubelet and containerd
		// behave the same way, which is why secret warns about bearer hosts.
		out, err := skopeoInspect(t, docker, bearerRef)
		if err == nil {
			t.Errorf("skopeo pulled with a bearer-only entry: %s", out)
		} else if !strings.Contains(out, "Requesting bearer token") {
			// It went to the token realm (which serves none here) instead of
			// presenting the token it was given.
			t.Errorf("skopeo failed, but not by asking the realm for a token: %s", out)
		}
	})
}
