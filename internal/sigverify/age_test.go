package sigverify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

func TestCheckAge(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss := testenv.NewSigstore(t)
	img, d := image(t, host, "aged", 1)
	at := time.Now().Truncate(time.Second).Add(2 * time.Second)
	ss.SignBundle(t, host, "aged", img, testenv.SignOptions{IntegratedTime: at})
	p := keyless(t, ss)
	p.MinAge = time.Hour
	r, err := verify(t, p, d, false)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for _, c := range []struct {
		name   string
		now    time.Time
		age    time.Duration
		tooNew bool
	}{
		{"too new", at.Add(time.Minute), time.Minute, true},
		{"just old enough", at.Add(time.Hour), time.Hour, false},
		{"old enough", at.Add(2 * time.Hour), 2 * time.Hour, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			age, tooNew, err := p.CheckAge(r, c.now)
			if err != nil || age != c.age || tooNew != c.tooNew {
				t.Errorf("CheckAge = %s, %v, %v; want %s, %v, no error", age, tooNew, err, c.age, c.tooNew)
			}
		})
	}
	t.Run("the verifier's clock", func(t *testing.T) {
		v := sigverify.NewVerifier(sigverify.Options{Now: func() time.Time { return at.Add(3 * time.Hour) }})
		if _, tooNew, err := p.CheckAge(r, v.Now()); tooNew || err != nil {
			t.Errorf("CheckAge at Options.Now: tooNew %v, %v", tooNew, err)
		}
	})
}

// TestCheckAgeWithoutLogTime: a key signature made without a log (the
// real cosign, --tlog-upload=false) verifies, but cannot satisfy minAge.
func TestCheckAgeWithoutLogTime(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	cosign := testenv.NewCosign(t)
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(readFile(t, cosign.Pub))
	if err != nil {
		t.Fatal(err)
	}
	_, d := image(t, host, "nolog", 1)
	cosign.SignBundle(t, d.String())
	p := &sigverify.Policy{PublicKey: pub, MinAge: time.Minute}
	r, err := verify(t, p, d, false)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	_, _, err = p.CheckAge(r, time.Now())
	if !errors.Is(err, sigverify.ErrUnverified) || !strings.Contains(err.Error(), "minAge 1m0s needs a verified transparency log time") ||
		!strings.Contains(err.Error(), r.Where) {
		t.Errorf("CheckAge without a log time: %v, want a refusal naming minAge and where", err)
	}
	p.MinAge = 0
	if age, tooNew, err := p.CheckAge(r, time.Now()); age != 0 || tooNew || err != nil {
		t.Errorf("CheckAge without minAge = %s, %v, %v; want 0, false, nil", age, tooNew, err)
	}
}
