package cli

import (
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// bigLayer is large enough that copying it between two loopback
// registries lasts long enough to interrupt.
const bigLayer = 768 << 20

// TestSyncSIGTERM interrupts the real binary in the middle of a big blob
// upload: it stops promptly with a non-zero status, the destination tag
// does not exist (it is written last), and a re-run completes the copy.
func TestSyncSIGTERM(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	want := testenv.PushImage(t, src.Host, "big", "1.0.0", testenv.ImageSpec{Platform: "linux/amd64",
		Layers: []testenv.Blob{testenv.NewBlob(t, 7, 4096), testenv.NewBlob(t, 8, bigLayer)}})
	cfg := syncConfig(t, src.Host+"/big "+dst.Host+"/big 1")

	c := startBinary(t, nil, "sync", cfg, "--no-progress")
	uploads := filepath.Join(dst.Storage(), "docker", "registry", "v2", "repositories", "big", "_uploads")
	if !waitForFile(filepath.Join(uploads, "*", "data"), 16<<20, c.done) {
		out, _ := c.wait()
		t.Fatalf("the copy ended before it could be interrupted:\n%s", out)
	}
	must(t, c.cmd.Process.Signal(syscall.SIGTERM))
	sent := time.Now()
	out, err := c.wait()
	t.Logf("stopped %s after SIGTERM, printing:\n%s", time.Since(sent).Round(time.Millisecond), out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit %v after SIGTERM, want status 1\n%s", err, out)
	}
	// The job's own line says it was interrupted; the run's last line says
	// so once, naming the signal.
	if !strings.Contains(out, "\n✗ interrupted by SIGTERM: the results above are what finished\n") {
		t.Errorf("want a last line saying SIGTERM interrupted the run, once:\n%s", out)
	}
	ref, _ := name.ParseReference(dst.Host + "/big:1.0.0")
	if _, err := remote.Head(ref); !isNotFound(err) {
		t.Errorf("after SIGTERM the destination tag answers %v, want 404: a tag must never name an incomplete image", err)
	}

	// The re-run copies the whole blob again (an interrupted upload is not
	// resumed), streaming it: its peak memory stays far below the blob.
	// Measured through GNU time: this test process's rusage of its own
	// child would include the test's memory (vfork keeps the parent's
	// high-water mark across exec).
	rerun, err := testenv.Measure(t.TempDir(), []string{binary(t), "sync", cfg, "--no-progress"})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	t.Logf("re-run copied a %d MiB layer with a peak RSS of %d MiB", bigLayer>>20, rerun.RSSKiB>>10)
	if rerun.RSSKiB<<10 > 64<<20 {
		t.Errorf("re-run peak RSS %d MiB, want under 64 MiB: the blob must stream", rerun.RSSKiB>>10)
	}
	got, err := remote.Head(ref)
	if err != nil || got.Digest != want.Digest {
		t.Errorf("after the re-run the destination has %v (%v), want %s", got, err, want.Digest)
	}
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
