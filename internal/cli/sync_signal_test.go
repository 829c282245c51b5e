package cli

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	bin := binary(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	want := testenv.PushImage(t, src.Host, "big", "1.0.0", testenv.ImageSpec{Platform: "linux/amd64",
		Layers: []testenv.Blob{testenv.NewBlob(t, 7, 4096), testenv.NewBlob(t, 8, bigLayer)}})
	cfg := syncConfig(t, src.Host+"/big "+dst.Host+"/big 1")

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "sync", cfg, "--no-progress")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	uploads := filepath.Join(dst.Storage(), "docker", "registry", "v2", "repositories", "big", "_uploads")
	if !waitForUpload(uploads, done) {
		t.Fatalf("the copy ended before it could be interrupted:\n%s%s", stdout.String(), stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 30s after SIGTERM:\n%s%s", stdout.String(), stderr.String())
	}
	t.Logf("stopped %s after SIGTERM, printing:\n%s%s", time.Since(sent).Round(time.Millisecond), stdout.String(), stderr.String())
	transcript.Lock()
	transcript.outputs = append(transcript.outputs, stdout.String(), stderr.String())
	transcript.Unlock()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit %v after SIGTERM, want a non-zero status\n%s%s", err, stdout.String(), stderr.String())
	}
	ref, _ := name.ParseReference(dst.Host + "/big:1.0.0")
	if _, err := remote.Head(ref); !isNotFound(err) {
		t.Errorf("after SIGTERM the destination tag answers %v, want 404: a tag must never name an incomplete image", err)
	}

	// The re-run copies the whole blob again (an interrupted upload is not
	// resumed); its peak memory shows the copy streams.
	rerun := exec.Command(bin, "sync", cfg, "--no-progress")
	out, err := rerun.CombinedOutput()
	transcript.Lock()
	transcript.outputs = append(transcript.outputs, string(out))
	transcript.Unlock()
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if ru, ok := rerun.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.Logf("re-run copied a %d MiB layer with a peak RSS of %d MiB", bigLayer>>20, ru.Maxrss>>10)
	}
	got, err := remote.Head(ref)
	if err != nil || got.Digest != want.Digest {
		t.Errorf("after the re-run the destination has %v (%v), want %s", got, err, want.Digest)
	}
}

// waitForUpload waits until a blob upload under dir has received data, or
// the process ended (false).
func waitForUpload(dir string, done <-chan error) bool {
	for {
		select {
		case <-done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*", "data"))
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && st.Size() > 16<<20 {
				return true
			}
		}
	}
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
