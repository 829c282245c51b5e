package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.MkdirAll("testdata", 0o755))
		must(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to refresh):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestExportNeedsNoCluster(t *testing.T) {
	t.Setenv("REGISTRY_PASSWORD", "")
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	example := filepath.Join("..", "..", "examples", "local", "mirror.yaml")
	noteSecret("example-bearer-token", "example token file")

	// A fixed clock: the written-at annotation is then the same every run.
	clock := seams{now: func() time.Time { return time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC) }}
	r := runSeams(t, clock, nil, "secret", "regcreds", "--export", "-f", example)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	golden(t, "export-local.yaml", r.stdout)
	golden(t, "export-local.stderr", r.stderr)

	r = run(t, nil, "secret", "regcreds", "--export", "-n", "flux-system", "-f", example)
	if r.err != nil || !strings.Contains(r.stdout, "  namespace: flux-system\n") {
		t.Fatalf("-n is not in the exported metadata:\n%s%s", r.stdout, r.stderr)
	}
}

// TestExportStampsTheExpiry exports a Secret holding a token whose expiry
// is known: the annotations name it and its host. A clock a minute before
// that expiry gets a warning instead.
func TestExportStampsTheExpiry(t *testing.T) {
	cfg := filepath.Join("testdata", "expiring", "mirror.yaml")
	noteSecret("golden-password", "expiring example password")
	at := func(ts string) seams {
		now, err := time.Parse(time.RFC3339, ts)
		must(t, err)
		return seams{now: func() time.Time { return now }}
	}
	r := runSeams(t, at("2026-11-30T08:00:00Z"), nil, "secret", "regcreds", "--export", "-n", "flux-system", "-f", cfg)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	golden(t, "export-expiring.yaml", r.stdout)
	golden(t, "export-expiring.stderr", r.stderr)

	r = runSeams(t, at("2027-01-15T07:59:00Z"), nil, "secret", "regcreds", "--export", "-f", cfg)
	if r.err != nil || !strings.Contains(r.stderr, "⚠️ ghcr.io: the credential expires at 2027-01-15T08:00:00Z, 1m0s after the Secret is written") {
		t.Fatalf("no warning for a credential expiring a minute after the write:\n%s", r.stderr)
	}
}

func TestExportFromStdin(t *testing.T) {
	noteSecret("stdin-token-5b2e", "stdin value")
	cfg := header + "hosts:\n- host: ghcr.io\n  username: bot\n  credential:\n    value: stdin-token-5b2e\n"
	r := run(t, strings.NewReader(cfg), "secret", "regcreds", "--export", "-f", "-")
	if r.err != nil || !strings.Contains(r.stdout, "type: kubernetes.io/dockerconfigjson") {
		t.Fatalf("%v\n%s%s", r.err, r.stdout, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := run(t, nil, "version")
	if r.err != nil || r.stdout != "flux-mirror: dev\n" || r.stderr != "" {
		t.Fatalf("stdout %q stderr %q err %v", r.stdout, r.stderr, r.err)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := run(t, nil, "completion", shell)
		if r.err != nil || !strings.Contains(r.stdout, "flux-mirror") {
			t.Errorf("completion %s: err %v, %d bytes", shell, r.err, len(r.stdout))
		}
	}
}

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	r := run(t, nil, "keygen", "-o", dir)
	if r.err != nil || r.stdout != "" || !strings.HasPrefix(r.stderr, "✔ wrote ") {
		t.Fatalf("stdout %q stderr %q err %v", r.stdout, r.stderr, r.err)
	}
	priv, err := os.ReadFile(filepath.Join(dir, "privkey.json"))
	must(t, err)
	noteSecret(string(priv), "generated private key")
	info, err := os.Stat(filepath.Join(dir, "privkey.json"))
	must(t, err)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("privkey.json mode %v", info.Mode().Perm())
	}

	r = run(t, nil, "keygen", "-o", dir)
	if lines := failureLines(r.stderr); r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "privkey.json") {
		t.Fatalf("second keygen must refuse to overwrite:\n%s", r.stderr)
	}
	again, err := os.ReadFile(filepath.Join(dir, "privkey.json"))
	must(t, err)
	if string(again) != string(priv) {
		t.Error("privkey.json was overwritten")
	}

	r = run(t, nil, "keygen", "-o", t.TempDir(), "--type", "dsa")
	if lines := failureLines(r.stderr); len(lines) != 1 || !strings.Contains(lines[0], `--type "dsa"`) {
		t.Errorf("bad --type:\n%s", r.stderr)
	}
}
