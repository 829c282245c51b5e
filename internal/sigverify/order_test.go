package sigverify_test

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestVerifyOrder: a verified bundle referrer wins and cosign's tag is
// then not read at all; a referrer that is refused (an old bundle) falls
// back to the tag.
func TestVerifyOrder(t *testing.T) {
	reg := testenv.StartSyncRegistry(t)
	ss := testenv.NewSigstore(t)

	t.Run("referrer first, tag not read", func(t *testing.T) {
		img, d := image(t, reg.Host, "both", 1)
		ss.SignBundle(t, reg.Host, "both", img, testenv.SignOptions{})
		ss.SignTag(t, reg.Host, "both", img, testenv.SignOptions{})
		before := testenv.CountRequests(reg.AccessLog(t), "", `/both/manifests/sha256-[0-9a-f]+\.sig`, 0)
		if before == 0 {
			t.Fatal("the access log shows no push of the .sig tag: the pattern is wrong")
		}
		r, err := verify(t, keyless(t, ss), d, true)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if !strings.HasPrefix(r.Where, "referrer ") {
			t.Errorf("Where = %q, want the referrer", r.Where)
		}
		if n := testenv.CountRequests(reg.AccessLog(t), "", `/both/manifests/sha256-[0-9a-f]+\.sig`, 0); n != before {
			t.Errorf("%d requests for the .sig tag, want none once a referrer verified", n-before)
		}
	})
	t.Run("refused referrer, tag accepted", func(t *testing.T) {
		img, d := image(t, reg.Host, "fallback", 2)
		ss.SignBundle(t, reg.Host, "fallback", img, testenv.SignOptions{BundleVersion: "v0.2"})
		ss.SignTag(t, reg.Host, "fallback", img, testenv.SignOptions{})
		r, err := verify(t, keyless(t, ss), d, true)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if want := "tag sha256-" + img.Digest.Hex + ".sig layer 0"; r.Where != want {
			t.Errorf("Where = %q, want %q", r.Where, want)
		}
	})
}
