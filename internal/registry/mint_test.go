package registry

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
)

func TestRenewAt(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		lifetime time.Duration // 0: unknown expiry
		want     time.Duration // after start
	}{
		{"unknown expiry is read again after a while", 0, unknownLifetime},
		{"an hour: a fifth before", time.Hour, 48 * time.Minute},
		{"a minute: 30 s before", time.Minute, 30 * time.Second},
		{"two minutes: 30 s before", 2 * time.Minute, 90 * time.Second},
		{"5 s: half-way", 5 * time.Second, 2500 * time.Millisecond},
		{"already expired: now", -time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var expires time.Time
			if tc.lifetime != 0 {
				expires = start.Add(tc.lifetime)
			}
			if got := renewAt(start, expires).Sub(start); got != tc.want {
				t.Errorf("renewAt = start+%s, want start+%s", got, tc.want)
			}
		})
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingMinter returns a minter whose source hands out tokens numbered
// from 1 that live for lifetime, after waiting for release to be closed.
func countingMinter(clock *fakeClock, lifetime time.Duration, release <-chan struct{}) (*minter, *atomic.Int32) {
	var calls atomic.Int32
	m := &minter{
		host: config.Host{Host: "r.example"},
		now:  clock.Now,
		resolve: func(ctx context.Context, _ string, h config.Host, _ credential.Options) (credential.Credential, error) {
			n := calls.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
				return credential.Credential{}, ctx.Err()
			}
			return credential.Credential{Host: h.Host, Token: "token-" + string(rune('0'+n)), ExpiresAt: clock.Now().Add(lifetime)}, nil
		},
	}
	return m, &calls
}

// TestMinterOneMintInFlight: many concurrent first uses mint once; the
// credential is reused until its renewal time and minted again after it.
func TestMinterOneMintInFlight(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	release := make(chan struct{})
	m, calls := countingMinter(clock, time.Minute, release)

	var wg sync.WaitGroup
	tokens := make([]string, 32)
	for i := range tokens {
		wg.Go(func() {
			c, err := m.get(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = c.Token
		})
	}
	time.Sleep(20 * time.Millisecond) // let them all queue on the one mint
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d mints for 32 concurrent uses, want 1", n)
	}
	for _, tok := range tokens {
		if tok != "token-1" {
			t.Fatalf("a caller got %q", tok)
		}
	}

	clock.Add(29 * time.Second)
	if c, _ := m.get(context.Background()); c.Token != "token-1" || calls.Load() != 1 {
		t.Fatalf("before renewal: got %q after %d mints", c.Token, calls.Load())
	}
	clock.Add(2 * time.Second) // 31 s of 60: under 30 s left
	if c, _ := m.get(context.Background()); c.Token != "token-2" || calls.Load() != 2 {
		t.Fatalf("after renewal: got %q after %d mints", c.Token, calls.Load())
	}
}

// TestMinterWaiterCancelled: a caller whose context ends stops waiting, and
// the mint it started still completes for the others.
func TestMinterWaiterCancelled(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	release := make(chan struct{})
	m, _ := countingMinter(clock, time.Minute, release)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.get(ctx); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "r.example") {
		t.Fatalf("err = %v, want context.Canceled naming the host", err)
	}
	close(release)
	if c, err := m.get(context.Background()); err != nil || c.Token != "token-1" {
		t.Fatalf("got %q, %v", c.Token, err)
	}
}

// TestMinterErrorNotCached: a failed mint is tried again on next use.
func TestMinterErrorNotCached(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	m := &minter{
		host: config.Host{Host: "r.example"},
		now:  time.Now,
		resolve: func(context.Context, string, config.Host, credential.Options) (credential.Credential, error) {
			if calls.Add(1) == 1 {
				return credential.Credential{}, errors.New(`host "r.example": boom`)
			}
			return credential.Credential{Token: "ok"}, nil
		},
	}
	if _, err := m.get(context.Background()); err == nil {
		t.Fatal("first mint did not fail")
	}
	if c, err := m.get(context.Background()); err != nil || c.Token != "ok" {
		t.Fatalf("second mint: %q, %v", c.Token, err)
	}
}
