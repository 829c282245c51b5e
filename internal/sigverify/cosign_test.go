package sigverify_test

import (
	"path/filepath"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestCosignAgrees: the real cosign, given the test Sigstore's
// trusted_root.json, accepts what the test kit signs (both forms) and
// refuses another identity, as this package does.
func TestCosignAgrees(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss := testenv.NewSigstore(t)
	cosign := testenv.NewCosign(t)
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	ss.WriteTrustedRoot(t, rootFile)
	for _, form := range []struct {
		name string
		sign func(*testing.T, string, testenv.Pushed)
	}{
		{"bundle referrer", func(t *testing.T, repo string, img testenv.Pushed) {
			ss.SignBundle(t, host, repo, img, testenv.SignOptions{})
		}},
		{"sig tag", func(t *testing.T, repo string, img testenv.Pushed) {
			ss.SignTag(t, host, repo, img, testenv.SignOptions{})
		}},
	} {
		t.Run(form.name, func(t *testing.T) {
			repo := "cosign-" + map[string]string{"bundle referrer": "bundle", "sig tag": "tag"}[form.name]
			img, d := image(t, host, repo, 7)
			form.sign(t, repo, img)
			if _, err := verify(t, keyless(t, ss), d, true); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			out, err := cosign.VerifyKeyless(t, d.String(), rootFile, testenv.SigstoreIssuer, `^release@flux-mirror\.example$`)
			if err != nil {
				t.Errorf("cosign verify refused what Verify accepted: %v\n%s", err, out)
			}
			if out, err := cosign.VerifyKeyless(t, d.String(), rootFile, testenv.SigstoreIssuer, `^intruder@`); err == nil {
				t.Errorf("cosign verify accepted another identity:\n%s", out)
			}
		})
	}
}
