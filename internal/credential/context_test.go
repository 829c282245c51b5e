package credential

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// blocking returns a source that signals started and then blocks, ignoring
// ctx, until the test ends.
func blocking(t *testing.T, started chan<- string) tokenSource {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(_ context.Context, req tokenRequest) (token, error) {
		started <- req.host
		<-release
		return token{value: "late"}, nil
	}
}

func TestResolveAllDeadline(t *testing.T) {
	started := make(chan string, 2)
	r := withFake(blocking(t, started))
	hosts := []config.Host{
		fakeHost("stuck.example"),
		{Host: "quick.example", Credential: &config.Source{Value: ptr("v")}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	creds, err := r.resolveAll(ctx, ".", hosts)
	if !errors.Is(err, context.DeadlineExceeded) || creds != nil {
		t.Fatalf("resolveAll = %v, %v; want a deadline error", creds, err)
	}
	if want := `host "stuck.example": context deadline exceeded`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestResolveCanceledWhileRunning(t *testing.T) {
	started := make(chan string, 1)
	r := withFake(blocking(t, started))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := r.resolve(ctx, ".", fakeHost("stuck.example"))
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), `host "stuck.example": `) {
		t.Fatalf("resolve: err = %v, want the host and context.Canceled", err)
	}
}

func TestResolveCanceledBefore(t *testing.T) {
	var calls atomic.Int32
	r := withFake(func(context.Context, tokenRequest) (token, error) {
		calls.Add(1)
		return token{value: "t"}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.resolveAll(ctx, ".", []config.Host{fakeHost("a.example"), fakeHost("b.example")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if want := "host \"a.example\": context canceled\nhost \"b.example\": context canceled"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if calls.Load() != 0 {
		t.Errorf("a source ran under a context that was already done")
	}
}
