package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ociRegistryPkg is the test kit's registry that serves the OCI referrers
// API (CUE's ociserver over ocimem).
const ociRegistryPkg = "github.com/fluxcd/flux-mirror/internal/testenv/ociregistry"

var ociRegistryBuild struct {
	once sync.Once
	bin  string
	err  error
}

// StartReferrersRegistry starts a registry that serves the OCI 1.1
// referrers API, which distribution v3 and Debian's docker-registry do
// not: the test kit's ociregistry program, built once per test binary,
// on a free loopback port, holding everything in memory. Its access log
// is read like a distribution registry's (AccessLog); it has no storage
// directory. It stops when the test ends.
func StartReferrersRegistry(t testing.TB) *Registry {
	t.Helper()
	bin := buildOCIRegistry(t)
	dir := t.TempDir()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Host: "127.0.0.1:" + strconv.Itoa(ports[0]), Dir: dir}
	p, err := startProcess("ociregistry", bin, filepath.Join(dir, "registry.log"), "-addr", r.Host)
	if err != nil {
		t.Fatal(err)
	}
	r.proc = p
	t.Cleanup(p.kill)
	if err := waitListening(p, r.Host, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return r
}

// buildOCIRegistry builds the ociregistry program with the go command
// that runs the tests, into the user's cache (where go keeps its build
// cache, so it is writable wherever go build works; BinDir may be a
// read-only directory of prebuilt peers). The binary is renamed into
// place, so test binaries of several packages building it at once never
// run a half-written file.
func buildOCIRegistry(t testing.TB) string {
	t.Helper()
	b := &ociRegistryBuild
	b.once.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			b.err = err
			return
		}
		dir := filepath.Join(cache, "flux-mirror-testenv", "kit")
		if b.err = os.MkdirAll(dir, 0o755); b.err != nil {
			return
		}
		tmp, err := os.CreateTemp(dir, ".ociregistry-*")
		if err != nil {
			b.err = err
			return
		}
		_ = tmp.Close()
		defer os.Remove(tmp.Name())
		out, err := exec.Command(goCommand(), "build", "-o", tmp.Name(), ociRegistryPkg).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s: %w\n%s", ociRegistryPkg, err, out)
			return
		}
		b.bin = filepath.Join(dir, "ociregistry")
		b.err = os.Rename(tmp.Name(), b.bin)
	})
	if b.err != nil {
		t.Fatalf("testenv: build the referrers registry: %v", b.err)
	}
	return b.bin
}

// goCommand is the go command: from PATH, else the toolchain that built
// the test (tests may empty PATH).
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
