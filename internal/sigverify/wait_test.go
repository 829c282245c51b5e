package sigverify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestPublicGoodCallerDeadline: when the caller's context ends before
// the trust root's own fetch timeout (sync's per-tag budget starts
// first), Verify returns then, and its error still says how to run
// offline.
func TestPublicGoodCallerDeadline(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss := testenv.NewSigstore(t)
	img, d := image(t, host, "deadline", 1)
	ss.SignBundle(t, host, "deadline", img, testenv.SignOptions{})
	p := keyless(t, ss)
	p.TrustedRoot = nil
	silent, _ := testenv.SilentProxy(t)
	testenv.UseProxy(t, silent)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	v := sigverify.NewVerifier(sigverify.Options{Timeout: time.Minute, CacheDir: t.TempDir()})
	_, err := v.Verify(ctx, p, d, false)
	if err == nil || !strings.Contains(err.Error(), "set verify.trustedRoot") || !strings.Contains(err.Error(), d.String()) {
		t.Errorf("Verify past the caller's deadline: %v, want an error naming the digest and verify.trustedRoot", err)
	}
	t.Log(err)
}
