package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Registry is an OCI registry process on a free loopback port, serving
// plain HTTP (crane and oras's --plain-http use HTTP on loopback).
type Registry struct {
	// Host is 127.0.0.1:PORT, the registry's host as a client names it.
	Host string
	// Dir holds the registry's config, storage and log.
	Dir  string
	proc *process
}

// TokenAuth configures token authentication of a distribution v3 registry:
// it accepts a bearer JWT signed by a key of the JWKS file whose iss is
// Issuer, whose aud is Service and whose access claim grants the request.
type TokenAuth struct {
	Issuer  string
	Service string
	// JWKS is the path of a JWK set holding the public verification keys.
	JWKS string
	// Realm is the token service's URL in the registry's challenge; empty
	// means /token on the registry's own address (StartRegistryWith only).
	Realm string
}

// Tool returns the path of a peer that hack/testenv.sh builds into
// BinDir (registry, crane, oras). A missing peer fails the test.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(BinDir(), name)
	if err := checkBinary(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// SystemTool returns the path of a peer that hack/testenv.sh installs from
// a Debian package (package names it), from PATH, /usr/bin or /usr/sbin. A
// missing one fails the test.
func SystemTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	// Tests may empty PATH to hide credential helpers, and a user's PATH
	// may lack /usr/sbin, where Debian puts nginx.
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		if err == nil {
			break
		}
		p, err = exec.LookPath(filepath.Join(dir, name))
	}
	if err != nil {
		t.Fatalf("testenv: %s is not on PATH: run `make testenv` (hack/testenv.sh) to install the Debian package %s", name, pkg)
	}
	return p
}

// StartHtpasswdRegistry starts Debian's docker-registry (distribution 2.8)
// with htpasswd authentication for one user. It stops when the test ends.
func StartHtpasswdRegistry(t testing.TB, user, password string) *Registry {
	t.Helper()
	return StartRegistryWith(t, RegistryOptions{Debian: true, User: user, Password: password})
}

// WriteHtpasswd writes dir/htpasswd holding one user (bcrypt, as both
// distribution and nginx accept) and returns its path.
func WriteHtpasswd(t testing.TB, dir, user, password string) string {
	t.Helper()
	htpasswd := SystemTool(t, "htpasswd", "apache2-utils")
	// bcrypt, as distribution requires; the password goes in on stdin so
	// that it never shows in a process listing.
	cmd := exec.Command(htpasswd, "-niB", user)
	cmd.Stdin = strings.NewReader(password + "\n")
	line, err := cmd.Output()
	if err != nil {
		t.Fatalf("testenv: htpasswd: %v", err)
	}
	path := filepath.Join(dir, "htpasswd")
	writeTestFile(t, path, string(line))
	return path
}

// StartTokenRegistry starts distribution v3 (the registry peer) with token
// authentication over a JWKS file. The realm is on the registry's own
// address, since crane refuses a realm on another loopback host:port; it
// serves no tokens, clients are expected to hold one.
func StartTokenRegistry(t testing.TB, a TokenAuth) *Registry {
	t.Helper()
	return StartRegistryWith(t, RegistryOptions{Token: &a})
}

// Log returns the last lines of the registry's log.
func (r *Registry) Log() string { return tail(r.proc.log) }

// writeTestFile writes content to path with mode 0600 or fails the test.
func writeTestFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
