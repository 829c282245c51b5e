package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// child is the built flux-mirror running as a process of its own.
type child struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
	err    error
}

// lockedBuffer is a buffer the child writes and the test reads at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// childDeadline bounds a child, so that a command that hangs fails its test
// instead of hanging the package.
const childDeadline = 60 * time.Second

// startBinary starts the built flux-mirror with args in an environment of
// its own: HOME is a new directory, no KUBECONFIG or DOCKER_CONFIG, PATH
// finds no credential helper, and env is added.
func startBinary(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), childDeadline)
	c := &child{cmd: exec.CommandContext(ctx, binary(t), args...), stderr: &lockedBuffer{}, done: make(chan struct{})}
	c.cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + t.TempDir()}, env...)
	c.cmd.Stdout, c.cmd.Stderr = c.stderr, c.stderr
	c.cmd.WaitDelay = time.Second
	must(t, c.cmd.Start())
	go func() {
		c.err = c.cmd.Wait()
		cancel()
		transcript.Lock()
		transcript.outputs = append(transcript.outputs, c.stderr.String())
		transcript.Unlock()
		close(c.done)
	}()
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.done })
	return c
}

// wait waits for the child to end and returns its output and error.
func (c *child) wait() (string, error) {
	<-c.done
	return c.stderr.String(), c.err
}

// waitFor waits until the child printed want, and fails if it ended first.
func (c *child) waitFor(t *testing.T, want string) {
	t.Helper()
	for !strings.Contains(c.stderr.String(), want) {
		select {
		case <-c.done:
			t.Fatalf("the command ended before printing %q:\n%s", want, c.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// wantInterrupted checks the child ended at the signal with one ✗ line
// naming it.
func wantInterrupted(t *testing.T, c *child, signal string) {
	t.Helper()
	out, err := c.wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("want exit status 1 after the signal, got %v:\n%s", err, out)
	}
	lines := failureLines(out)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "✗ interrupted by "+signal+": ") {
		t.Fatalf("want one ✗ line saying the run was interrupted by %s, got:\n%s", signal, out)
	}
}

// TestSignalIsNamed interrupts a run that waits for a token, and one that
// reads a config from a FIFO whose writer sends nothing: each ends at
// SIGTERM or SIGINT and says which signal ended it, where it said
// "context canceled" (or, for the FIFO, never ended).
func TestSignalIsNamed(t *testing.T) {
	t.Run("SIGTERM while minting", func(t *testing.T) {
		cfg, _ := slowConfig(t)
		c := startBinary(t, nil, "login", "-f", cfg, "--docker-config", t.TempDir())
		c.waitFor(t, "► minting credentials")
		must(t, c.cmd.Process.Signal(syscall.SIGTERM))
		wantInterrupted(t, c, "SIGTERM")
	})
	for _, sig := range []struct {
		sig  syscall.Signal
		name string
	}{{syscall.SIGTERM, "SIGTERM"}, {syscall.SIGINT, "SIGINT (Ctrl-C)"}} {
		for _, args := range [][]string{{"secret", "regcreds", "--export"}, {"sync", "--no-progress"}} {
			t.Run(sig.name+" while "+args[0]+" reads a FIFO config", func(t *testing.T) {
				fifo := filepath.Join(t.TempDir(), "mirror.yaml")
				must(t, syscall.Mkfifo(fifo, 0o600))
				c := startBinary(t, nil, append(args, "-f", fifo)...)
				// A writer can open the FIFO without blocking only once the
				// command is opening it for reading; it then writes nothing.
				w := openWriterWhenRead(t, c, fifo)
				defer w.Close()
				must(t, c.cmd.Process.Signal(sig.sig))
				wantInterrupted(t, c, sig.name)
			})
		}
	}
}

// openWriterWhenRead opens fifo for writing as soon as the child has it
// open for reading.
func openWriterWhenRead(t *testing.T, c *child, fifo string) io.Closer {
	t.Helper()
	for {
		w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return w
		}
		if !errors.Is(err, syscall.ENXIO) {
			t.Fatal(err)
		}
		select {
		case <-c.done:
			t.Fatalf("the command ended before reading the FIFO:\n%s", c.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestFIFOConfigEndsAtTheTimeout reads the config from a FIFO nobody
// writes: the run ends at --timeout with a line naming it.
func TestFIFOConfigEndsAtTheTimeout(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "mirror.yaml")
	must(t, syscall.Mkfifo(fifo, 0o600))
	t.Cleanup(func() {
		// Unblock the read left behind, as the process would by exiting.
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	c := startBinary(t, nil, "secret", "regcreds", "--export", "--timeout", "500ms", "-f", fifo)
	out, err := c.wait()
	lines := failureLines(out)
	if err == nil || len(lines) != 1 || !strings.Contains(lines[0], "reading the config timed out after 500ms (--timeout") ||
		!strings.Contains(lines[0], fifo) {
		t.Fatalf("want one ✗ line naming the config and --timeout, got %v:\n%s", err, out)
	}
}
