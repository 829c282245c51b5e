package cli

import (
	"fmt"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestSyncHostsCredential: sync authenticates to a registry listed in hosts
// with that entry, not the Docker config: a username and a password read
// from credential.fromPath in the config's directory. A wrong password
// fails the run, and neither password reaches any output.
func TestSyncHostsCredential(t *testing.T) {
	const password = "sync-hosts-password-3e9a51"
	src := testenv.StartSyncRegistry(t)
	dst := testenv.StartHtpasswdRegistry(t, "mirror", password)
	testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 7))
	// Nothing for the destination in a Docker config.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	for _, tc := range []struct {
		password string
		code     int
	}{{password, 0}, {password + "-wrong", 1}} {
		noteSecret(tc.password, "sync's hosts password")
		dir := t.TempDir()
		writeFile(t, dir, "password", tc.password)
		cfg := writeFile(t, dir, "mirror.yaml", header+fmt.Sprintf(`hosts:
- host: %s
  username: mirror
  credential:
    fromPath: password
artifacts:
- source: %s/app
  destination: %s/app
  selector:
    limit: 1
`, dst.Host, src.Host, dst.Host))
		for _, args := range [][]string{{"sync", cfg, "--verbose"}, {"sync", cfg, "-o", "json"}} {
			if r := run(t, nil, args...); r.code != tc.code {
				t.Errorf("%q: exit %d, want %d\n%s%s", args, r.code, tc.code, r.stdout, r.stderr)
			}
		}
	}
}
