package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Pass is a real password store behind Debian's docker-credential-pass: a
// throwaway gpg key without passphrase in its own GNUPGHOME, and a pass
// store initialised with it in its own directory.
type Pass struct {
	// GNUPGHOME is the gpg home holding the key.
	GNUPGHOME string
	// StoreDir is the pass store (PASSWORD_STORE_DIR).
	StoreDir string
	// Helper is the path of docker-credential-pass.
	Helper string
}

// StartPass makes a gpg key and a pass store for the test; its gpg-agent
// is stopped and both directories are removed when the test ends. Use Env
// (or SetEnv) to point pass, and so docker-credential-pass, at them.
func StartPass(t testing.TB) *Pass {
	t.Helper()
	gpg := SystemTool(t, "gpg", "gnupg")
	gpgconf := SystemTool(t, "gpgconf", "gnupg")
	pass := SystemTool(t, "pass", "pass")
	p := &Pass{Helper: SystemTool(t, "docker-credential-pass", "golang-docker-credential-helpers")}
	// A short path: gpg-agent's socket lives in GNUPGHOME when there is
	// no /run/user directory, and socket paths are limited to ~100 bytes.
	home, err := os.MkdirTemp("", "fm-gpg-")
	if err != nil {
		t.Fatal(err)
	}
	p.GNUPGHOME = home
	p.StoreDir = t.TempDir()
	t.Cleanup(func() {
		cmd := exec.Command(gpgconf, "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), p.Env()...)
		_ = cmd.Run()
		_ = os.RemoveAll(home)
	})
	p.run(t, gpg, "--batch", "--passphrase", "", "--quick-gen-key",
		"flux-mirror test <test@flux-mirror.invalid>", "future-default", "default", "never")
	out := p.run(t, gpg, "--batch", "--with-colons", "--list-keys")
	var fpr string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, ":"); len(f) > 9 && f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		t.Fatalf("testenv: no key fingerprint in gpg's listing:\n%s", out)
	}
	p.run(t, pass, "init", fpr)
	return p
}

// Env returns the variables that point pass at this store.
func (p *Pass) Env() []string {
	return []string{"GNUPGHOME=" + p.GNUPGHOME, "PASSWORD_STORE_DIR=" + p.StoreDir}
}

// SetEnv sets Env in the test's environment, for commands run in process.
func (p *Pass) SetEnv(t testing.TB) {
	t.Setenv("GNUPGHOME", p.GNUPGHOME)
	t.Setenv("PASSWORD_STORE_DIR", p.StoreDir)
}

// HelperOutput runs docker-credential-pass ACTION with input on stdin, as
// docker does, and returns its output; a failure fails the test.
func (p *Pass) HelperOutput(t testing.TB, action, input string) string {
	t.Helper()
	cmd := exec.Command(p.Helper, action)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + p.GNUPGHOME}, p.Env()...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker-credential-pass %s: %v\n%s", action, err, out)
	}
	return string(out)
}

// run runs a gpg or pass command against this store.
func (p *Pass) run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + p.GNUPGHOME}, p.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: %s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}
