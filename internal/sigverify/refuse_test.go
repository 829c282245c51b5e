package sigverify_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestVerifyRefused signs images in ways the policy must refuse; each
// error must wrap ErrUnverified, name the digest and say why.
func TestVerifyRefused(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss, untrusted := testenv.NewSigstore(t), testenv.NewSigstore(t)
	other, _ := image(t, host, "other", 100)
	bundle := func(o testenv.SignOptions) func(*testing.T, string, testenv.Pushed) {
		return func(t *testing.T, repo string, img testenv.Pushed) { ss.SignBundle(t, host, repo, img, o) }
	}
	tag := func(o testenv.SignOptions) func(*testing.T, string, testenv.Pushed) {
		return func(t *testing.T, repo string, img testenv.Pushed) { ss.SignTag(t, host, repo, img, o) }
	}
	for i, c := range []struct {
		name   string
		sign   func(*testing.T, string, testenv.Pushed)
		policy func(*sigverify.Policy)
		want   []string
	}{
		{name: "wrong issuer", sign: bundle(testenv.SignOptions{Issuer: "https://other.example.com"}),
			want: []string{`expected issuer value "https://issuer.example.com", got "https://other.example.com"`}},
		{name: "issuer is not a regular expression", sign: bundle(testenv.SignOptions{}),
			policy: func(p *sigverify.Policy) { p.Identities[0].Issuer = "https://issuer.example.*" },
			want:   []string{`expected issuer value "https://issuer.example.*", got "https://issuer.example.com"`}},
		{name: "subject not matching", sign: tag(testenv.SignOptions{Identity: "intruder@flux-mirror.example"}),
			want: []string{`intruder@flux-mirror.example`, `^release@flux-mirror\.example$`}},
		{name: "bundle over another digest", sign: bundle(testenv.SignOptions{Subject: other.Digest.String()}),
			want: []string{"provided artifact digest does not match any digest in statement"}},
		{name: "sig tag over another digest", sign: tag(testenv.SignOptions{Subject: other.Digest.String()}),
			want: []string{"the signed payload is for " + other.Digest.String() + ", another digest"}},
		{name: "expired certificate", sign: bundle(testenv.SignOptions{CertExpired: true}),
			want: []string{"integrated time outside certificate validity"}},
		{name: "untrusted certificate (another Sigstore)", sign: func(t *testing.T, repo string, img testenv.Pushed) {
			untrusted.SignTag(t, host, repo, img, testenv.SignOptions{})
		}, want: []string{"transparency log entry is in a log verify.trustedRoot does not trust"}},
		{name: "tampered bundle payload", sign: bundle(testenv.SignOptions{TamperPayload: true}),
			want: []string{"referrer sha256:", "payload hash", "does not match"}},
		{name: "tampered sig tag payload", sign: tag(testenv.SignOptions{TamperPayload: true}),
			want: []string{".sig layer 0", "does not match"}},
		{name: "no log entry", sign: bundle(testenv.SignOptions{NoLogEntry: true}),
			want: []string{"has no transparency log entry"}},
		{name: "bundle older than v0.3", sign: bundle(testenv.SignOptions{BundleVersion: "v0.2"}),
			want: []string{"the Sigstore bundle is v0.2, older than v0.3"}},
		{name: "attestation, not a signature", sign: bundle(testenv.SignOptions{PredicateType: "https://spdx.dev/Document"}),
			want: []string{`predicate type "https://spdx.dev/Document", not a cosign signature`}},
		{name: "no SCT while the root lists a CT log", sign: bundle(testenv.SignOptions{}),
			policy: func(p *sigverify.Policy) { p.TrustedRoot = ss.TrustedRootWithCTLog(t) },
			want:   []string{"failed to verify signed certificate timestamp"}},
		{name: "no signature at all", sign: func(*testing.T, string, testenv.Pushed) {},
			want: []string{"no signature found", "Sigstore bundles among the referrers", ".sig tag"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("refused%d", i)
			img, d := image(t, host, repo, uint64(i))
			c.sign(t, repo, img)
			p := keyless(t, ss)
			if c.policy != nil {
				c.policy(p)
			}
			r, err := verify(t, p, d, true)
			if err == nil {
				t.Fatalf("Verify accepted %+v", *r)
			}
			if !errors.Is(err, sigverify.ErrUnverified) {
				t.Errorf("error does not wrap ErrUnverified: %v", err)
			}
			t.Log(err)
			for _, w := range append(c.want, d.String()) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}
