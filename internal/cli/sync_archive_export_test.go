package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// gibLayer is the layer of the memory test: 1 GiB.
const gibLayer = 1 << 30

// TestSyncArchiveBigLayer exports an image with a 1 GiB layer with the
// real binary: SIGTERM while the archive is being written leaves nothing
// at the target path (nor a temporary file or staging directory next to
// it); a full export, and its import into a registry, then keep the peak
// RSS under 64 MiB.
func TestSyncArchiveBigLayer(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src := testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "big", "1.0.0", testenv.ImageSpec{Platform: "linux/amd64",
		Layers: []testenv.Blob{testenv.NewBlob(t, 9, gibLayer)}})
	dst := testenv.StartSyncRegistry(t)
	cfg := syncConfig(t, src.Host+"/big "+dst.Host+"/big 1")
	dir := t.TempDir()
	target := filepath.Join(dir, "big.tar.zst")

	c := startBinary(t, nil, "sync", cfg, "--no-progress", "--insecure", "--to-archive", target)
	if !waitForFile(filepath.Join(dir, "big.tar.zst.tmp-*"), 16<<20, c.done) {
		out, _ := c.wait()
		t.Fatalf("the export ended before its archive could be interrupted:\n%s", out)
	}
	must(t, c.cmd.Process.Signal(syscall.SIGTERM))
	out, err := c.wait()
	t.Logf("after SIGTERM:\n%s", out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit %v after SIGTERM, want status 1", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("after SIGTERM the target's directory holds %v, want nothing", left)
	}

	// Peak memory through GNU time (testenv.Measure): the rusage of a
	// child of this test process would include the test's own memory,
	// since Go starts children with vfork and the kernel keeps the
	// parent's high-water mark across exec.
	home := t.TempDir()
	exp, err := testenv.Measure(home, []string{binary(t), "sync", cfg, "--no-progress", "--insecure", "--to-archive", target})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	st, err := os.Stat(target)
	must(t, err)
	t.Logf("exported a %d MiB layer into a %d MiB archive with a peak RSS of %d MiB", gibLayer>>20, st.Size()>>20, exp.RSSKiB>>10)
	if exp.RSSKiB<<10 > 64<<20 {
		t.Errorf("export peak RSS %d MiB, want under 64 MiB: blobs must stream", exp.RSSKiB>>10)
	}

	// The import extracts, verifies and pushes the layer, streaming too.
	t.Setenv("TMPDIR", t.TempDir())
	imp, err := testenv.Measure(home, []string{binary(t), "sync", cfg, "--no-progress", "--insecure", "--from-archive", target})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	t.Logf("imported it with a peak RSS of %d MiB", imp.RSSKiB>>10)
	if imp.RSSKiB<<10 > 64<<20 {
		t.Errorf("import peak RSS %d MiB, want under 64 MiB: blobs must stream", imp.RSSKiB>>10)
	}
	ref, err := name.ParseReference(dst.Host+"/big:1.0.0", name.Insecure)
	must(t, err)
	if _, err := remote.Head(ref); err != nil {
		t.Errorf("after the import the destination tag answers %v", err)
	}
}

// waitForFile waits until a file matching pattern holds more than size
// bytes (true), or the process ended or childDeadline passed (false).
func waitForFile(pattern string, size int64, done <-chan struct{}) bool {
	deadline := time.After(childDeadline)
	for {
		select {
		case <-done:
			return false
		case <-deadline:
			return false
		case <-time.After(10 * time.Millisecond):
		}
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > size && !strings.HasSuffix(f, ".json") {
				return true
			}
		}
	}
}

// TestSyncArchiveNotWrittenOnFailure: when a plan fails, the export
// reports it, says no archive was written, and leaves nothing behind.
func TestSyncArchiveNotWrittenOnFailure(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src := testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 91))
	cfg := syncConfig(t, src.Host+"/app registry.example.com/app 1", src.Host+"/gone registry.example.com/gone 1")
	dir := t.TempDir()
	target := filepath.Join(dir, "site.tar")
	r := run(t, nil, "sync", cfg, "--insecure", "--retries", "0", "--to-archive", target)
	lines := failureLines(r.stderr)
	if r.code != 1 || !strings.Contains(r.stdout, "(copied)") || len(lines) != 1 || !strings.Contains(lines[0], "1 failed, so no archive was written at "+target) {
		t.Errorf("exit %d, ✗ lines %q; want 1 and one line saying no archive was written\n%s", r.code, lines, r.stdout)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the target's directory holds %v, want nothing", left)
	}
}
