package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/dockerstore"
)

// TestConcurrentLoginsKeepEveryEntry starts 10, then 50, real flux-mirror
// login processes at once on one Docker config, each for another host:
// every entry must be there at the end, where runs without the lock lost
// each other's updates.
func TestConcurrentLoginsKeepEveryEntry(t *testing.T) {
	for _, n := range []int{10, 50} {
		t.Run(fmt.Sprintf("%d runs", n), func(t *testing.T) {
			var hosts strings.Builder
			tokens := make([]string, n)
			for i := range n {
				tokens[i] = randomSecret(t, "login-token")
				fmt.Fprintf(&hosts, "- host: r%d.example.com\n  credential:\n    value: %s\n", i, tokens[i])
			}
			cfg := mirrorConfig(t, hosts.String())
			docker := t.TempDir()
			// An entry another program wrote before: kept too.
			writeFile(t, docker, "config.json", `{"auths":{"other.example.com":{"auth":"b3RoZXI6eA=="}},"psFormat":"table"}`)

			runs := make([]*child, n)
			for i := range n {
				runs[i] = startBinary(t, nil, "login", "-f", cfg, "--docker-config", docker, "--host", fmt.Sprintf("r%d.example.com", i))
			}
			for i, c := range runs {
				if out, err := c.wait(); err != nil || !strings.Contains(out, "updated (1 host)") {
					t.Errorf("run %d: %v\n%s", i, err, out)
				}
			}
			raw, auths := rawAuths(t, docker)
			for i := range n {
				if got := auths[fmt.Sprintf("r%d.example.com", i)]["registrytoken"]; got != tokens[i] {
					t.Errorf("r%d.example.com: entry lost", i)
				}
			}
			if auths["other.example.com"] == nil || !strings.Contains(raw, `"psFormat": "table"`) {
				t.Errorf("what was there before is lost:\n%s", raw)
			}
			if len(auths) != n+1 {
				t.Errorf("%d entries, want %d", len(auths), n+1)
			}
		})
	}
}

// TestLoginWaitsForTheLockUntilTheTimeout holds the Docker config's lock
// while login runs: it waits, then ends at --timeout with a line naming the
// lock and --timeout, and the file is left as it was.
func TestLoginWaitsForTheLockUntilTheTimeout(t *testing.T) {
	isolate(t, false)
	docker := t.TempDir()
	before := `{"auths":{"other.example.com":{"auth":"b3RoZXI6eA=="}}}`
	writeFile(t, docker, "config.json", before)
	unlock, err := dockerstore.Lock(context.Background(), docker)
	must(t, err)
	defer unlock()

	cfg := mirrorConfig(t, "- host: ghcr.io\n  credential:\n    value: "+randomSecret(t, "locked-token")+"\n")
	r := run(t, nil, "login", "-f", cfg, "--docker-config", docker, "--timeout", "300ms")
	lines := failureLines(r.stderr)
	lock := filepath.Join(docker, dockerstore.LockFile)
	if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "storing the credentials timed out after 300ms (--timeout") ||
		!strings.Contains(lines[0], "wait for the lock "+lock) {
		t.Fatalf("want one ✗ line naming the lock and --timeout, got:\n%s", r.stderr)
	}
	after, err := os.ReadFile(filepath.Join(docker, "config.json"))
	must(t, err)
	if string(after) != before {
		t.Errorf("config.json changed while another run held the lock:\n%s", after)
	}
}
