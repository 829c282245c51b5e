package registry

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// logRecorder collects the Logger lines of a Registries.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// count returns how many lines contain s.
func (l *logRecorder) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// newRegistries builds Registries for hosts with root as the config's
// directory; it is closed when the test ends.
func newRegistries(t *testing.T, root string, hosts ...config.Host) (*Registries, *logRecorder) {
	t.Helper()
	return newRegistriesWith(t, Options{Root: root, Hosts: hosts})
}

// newRegistriesWith is newRegistries with more options; its Logger is the
// returned recorder.
func newRegistriesWith(t *testing.T, o Options) (*Registries, *logRecorder) {
	t.Helper()
	log := &logRecorder{}
	o.Logger = log.logf
	r, err := New(context.Background(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r, log
}

// randomImage is a small image of random layers.
func randomImage(t testing.TB, layers int, size int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// push writes img to ref with opts; nameOpts parse ref (name.Insecure for
// plain HTTP).
func push(ref string, img v1.Image, opts []remote.Option, nameOpts ...name.Option) error {
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return err
	}
	return remote.Write(r, img, opts...)
}

// pull reads ref with opts, reads every layer through (which checks each
// blob's digest) and returns the manifest digest.
func pull(ref string, opts []remote.Option, nameOpts ...name.Option) (v1.Hash, error) {
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		_, err = drain(rc)
		if err != nil {
			return v1.Hash{}, err
		}
	}
	return img.Digest()
}

// roundTrip pushes a random image to ref and pulls it back, failing the
// test unless the digests match.
func roundTrip(t *testing.T, ref string, opts []remote.Option, nameOpts ...name.Option) {
	t.Helper()
	img := randomImage(t, 2, 64<<10)
	if err := push(ref, img, opts, nameOpts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	got, err := pull(ref, opts, nameOpts...)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if want, _ := img.Digest(); got != want {
		t.Fatalf("pulled %s, pushed %s", got, want)
	}
}

// assertNoSecret fails the test if err's text holds any of secrets.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error holds a secret: %v", err)
		}
	}
}

// drain reads rc to its end and closes it.
func drain(rc io.ReadCloser) (int64, error) {
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}
