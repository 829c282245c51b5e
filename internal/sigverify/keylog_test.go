package sigverify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestVerifyKeyWithLog: a key signature's log entry is checked, and its
// time kept, when a trust root is at hand (verify.trustedRoot); without
// one the key alone decides and there is no log time; a log the root does
// not trust is refused.
func TestVerifyKeyWithLog(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss, other := testenv.NewSigstore(t), testenv.NewSigstore(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	img, d := image(t, host, "keylog", 1)
	at := time.Now().Truncate(time.Second).Add(-time.Minute)
	ss.SignTagWithKey(t, host, "keylog", img, key, testenv.SignOptions{IntegratedTime: at})

	t.Run("log checked against trustedRoot", func(t *testing.T) {
		p := &sigverify.Policy{PublicKey: key.Public(), TrustedRoot: ss.TrustedRoot(t), MinAge: time.Hour}
		r, err := verify(t, p, d, true)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !r.IntegratedTime.Equal(at) || r.KeyID == "" || r.Identity != "" {
			t.Errorf("Result = %+v, want log time %s and a key ID", *r, at)
		}
		if _, tooNew, err := p.CheckAge(r, at.Add(time.Minute)); !tooNew || err != nil {
			t.Errorf("CheckAge a minute after: tooNew %v, %v; want too new", tooNew, err)
		}
	})
	t.Run("no trust root: the key alone", func(t *testing.T) {
		r, err := verify(t, &sigverify.Policy{PublicKey: key.Public()}, d, true)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !r.IntegratedTime.IsZero() {
			t.Errorf("IntegratedTime = %s, want none (the log is not checked without a root)", r.IntegratedTime)
		}
	})
	t.Run("a log the root does not trust", func(t *testing.T) {
		_, err := verify(t, &sigverify.Policy{PublicKey: key.Public(), TrustedRoot: other.TrustedRoot(t)}, d, true)
		if !errors.Is(err, sigverify.ErrUnverified) || !strings.Contains(err.Error(), "in a log verify.trustedRoot does not trust") {
			t.Errorf("Verify: %v, want a refusal naming the untrusted log", err)
		}
	})
	t.Run("another key", func(t *testing.T) {
		k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, err := verify(t, &sigverify.Policy{PublicKey: k2.Public()}, d, true)
		if !errors.Is(err, sigverify.ErrUnverified) || !strings.Contains(err.Error(), "signature by verify.publicKey") {
			t.Errorf("Verify: %v, want a refusal of the signature by verify.publicKey", err)
		}
		t.Log(err)
	})
}
