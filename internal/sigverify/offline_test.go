package sigverify_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// refusingProxy is an address where nothing listens.
func refusingProxy(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestPublicGoodOffline: without trustedRoot a keyless policy needs the
// public-good root from TUF; offline (a proxy that never answers, or one
// that refuses), Verify fails within the timeout with an error that says
// how to run offline, and many concurrent verifications fetch once.
func TestPublicGoodOffline(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss := testenv.NewSigstore(t)
	img, d := image(t, host, "offline", 1)
	ss.SignBundle(t, host, "offline", img, testenv.SignOptions{})
	p := keyless(t, ss)
	p.TrustedRoot = nil
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	silent, accepted := testenv.SilentProxy(t)
	for _, c := range []struct {
		name, proxy, cacheDir string
		verifiers             int
	}{
		{name: "proxy never answers", proxy: silent, cacheDir: t.TempDir(), verifiers: 8},
		{name: "proxy refuses", proxy: refusingProxy(t), cacheDir: t.TempDir(), verifiers: 2},
		{name: "unwritable cache", proxy: refusingProxy(t), cacheDir: filepath.Join(notDir, "tuf"), verifiers: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			accepted.Store(0)
			testenv.UseProxy(t, c.proxy)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			v := sigverify.NewVerifier(sigverify.Options{Timeout: 2 * time.Second, CacheDir: c.cacheDir})
			errs := make([]error, c.verifiers)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { _, errs[i] = v.Verify(ctx, p, d, false) })
			}
			wg.Wait()
			if ctx.Err() != nil {
				t.Fatal("Verify did not return within the test's bound")
			}
			for _, err := range errs {
				if !errors.Is(err, sigverify.ErrUnverified) || !strings.Contains(err.Error(), "set verify.trustedRoot") ||
					!strings.Contains(err.Error(), d.String()) {
					t.Errorf("Verify offline: %v, want a refusal naming the digest and verify.trustedRoot", err)
				}
			}
			// The error is kept for the run: asking again fetches nothing.
			if _, err := v.Verify(ctx, p, d, false); err == nil || err.Error() != errs[0].Error() {
				t.Errorf("Verify again: %v, want the kept error", err)
			}
			if c.proxy == silent && accepted.Load() != 1 {
				t.Errorf("the proxy saw %d connections from %d concurrent verifications, want 1 (one fetch per run)", accepted.Load(), c.verifiers)
			}
			t.Log(errs[0])
		})
	}
	t.Run("nothing fetched without a keyless verification", func(t *testing.T) {
		accepted.Store(0)
		t.Setenv("HTTPS_PROXY", "http://"+silent)
		v := sigverify.NewVerifier(sigverify.Options{Timeout: time.Second, CacheDir: t.TempDir()})
		// No signature at all: nothing to verify, no root needed.
		_, bare := image(t, host, "bare", 2)
		if _, err := v.Verify(context.Background(), p, bare, true); !errors.Is(err, sigverify.ErrUnverified) {
			t.Errorf("Verify unsigned: %v", err)
		}
		if n := accepted.Load(); n != 0 {
			t.Errorf("the proxy saw %d connections, want none", n)
		}
	})
}
