package sigverify_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// BenchmarkVerify measures one verification per tag with the trust root
// at hand (loaded once per run, as the engine does), next to the real
// `cosign verify` run per tag on the same signatures.
func BenchmarkVerify(b *testing.B) {
	host := testenv.StartSyncRegistry(b).Host
	ss := testenv.NewSigstore(b)
	cosign := testenv.NewCosign(b)
	rootFile := filepath.Join(b.TempDir(), "trusted_root.json")
	ss.WriteTrustedRoot(b, rootFile)
	p := keyless(b, ss)
	for _, form := range []struct {
		name   string
		sigTag bool
		sign   func(repo string, img testenv.Pushed)
	}{
		{"bundle referrer", false, func(repo string, img testenv.Pushed) { ss.SignBundle(b, host, repo, img, testenv.SignOptions{}) }},
		{"sig tag", true, func(repo string, img testenv.Pushed) { ss.SignTag(b, host, repo, img, testenv.SignOptions{}) }},
	} {
		repo := map[bool]string{false: "bench-bundle", true: "bench-tag"}[form.sigTag]
		img, d := image(b, host, repo, 1)
		form.sign(repo, img)
		b.Run(form.name+"/sigverify", func(b *testing.B) {
			v := sigverify.NewVerifier(sigverify.Options{Timeout: 10 * time.Second})
			for b.Loop() {
				if _, err := v.Verify(context.Background(), p, d, form.sigTag); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(form.name+"/cosign verify", func(b *testing.B) {
			for b.Loop() {
				if out, err := cosign.VerifyKeyless(b, d.String(), rootFile, testenv.SigstoreIssuer, `^release@`); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
			}
		})
	}
}
