package sigverify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

func TestNewPolicy(t *testing.T) {
	dir := t.TempDir()
	ss := testenv.NewSigstore(t)
	ss.WriteTrustedRoot(t, filepath.Join(dir, "trusted_root.json"))
	cosign := testenv.NewCosign(t)
	write := func(name string, raw []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cosign.pub", readFile(t, cosign.Pub))
	write("not-a-root.json", []byte(`{"mediaType":"application/json","hello":"world"}`))
	write("empty-root.json", []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`))
	write("not-a-key.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	outside := filepath.Join(t.TempDir(), "outside.pub")
	if err := os.WriteFile(outside, readFile(t, cosign.Pub), 0o600); err != nil {
		t.Fatal(err)
	}
	ids := []config.OIDCIdentity{{Issuer: testenv.SigstoreIssuer, Subject: `^release@`}}

	t.Run("accepted", func(t *testing.T) {
		p, err := sigverify.NewPolicy(&config.Verify{Provider: "cosign", MatchOIDCIdentity: ids, MinAge: "2h",
			TrustedRoot: "trusted_root.json", PublicKey: "cosign.pub"}, dir)
		if err != nil {
			t.Fatalf("NewPolicy: %v", err)
		}
		if p.TrustedRoot == nil || p.PublicKey == nil || p.MinAge != 2*time.Hour ||
			len(p.Identities) != 1 || p.Identities[0] != (sigverify.Identity{Issuer: testenv.SigstoreIssuer, Subject: `^release@`}) {
			t.Errorf("Policy = %+v", *p)
		}
		if len(p.TrustedRoot.RekorLogs()) != 1 || len(p.TrustedRoot.FulcioCertificateAuthorities()) != 1 {
			t.Errorf("trusted root: %d logs, %d CAs; want the virtual Sigstore's one each",
				len(p.TrustedRoot.RekorLogs()), len(p.TrustedRoot.FulcioCertificateAuthorities()))
		}
	})
	for _, c := range []struct {
		name string
		v    config.Verify
		want []string
	}{
		{"trusted root missing", config.Verify{TrustedRoot: "missing.json"}, []string{"trustedRoot: ", "missing.json"}},
		{"trusted root outside the config directory", config.Verify{TrustedRoot: "../" + filepath.Base(filepath.Dir(outside)) + "/outside.pub"},
			[]string{"trustedRoot: ", "confined to"}},
		{"not a trusted root", config.Verify{TrustedRoot: "not-a-root.json"}, []string{"trustedRoot: ", "not-a-root.json is not a Sigstore trusted_root.json"}},
		{"a trusted root that trusts nothing", config.Verify{TrustedRoot: "empty-root.json"},
			[]string{"trustedRoot: ", "lists no certificate authority, transparency log or timestamp authority"}},
		{"trusted root given a public key", config.Verify{TrustedRoot: "cosign.pub"}, []string{"trustedRoot: ", "not a Sigstore trusted_root.json"}},
		{"public key missing", config.Verify{PublicKey: "missing.pub"}, []string{"publicKey: ", "missing.pub"}},
		{"public key outside the config directory", config.Verify{PublicKey: outside}, []string{"publicKey: ", "confined to"}},
		{"not a public key", config.Verify{PublicKey: "not-a-key.pem"}, []string{"publicKey: ", "not-a-key.pem is not a PEM public key"}},
		{"public key given a trusted root", config.Verify{PublicKey: "trusted_root.json"}, []string{"publicKey: ", "not a PEM public key"}},
		{"subject not a regular expression", config.Verify{MatchOIDCIdentity: []config.OIDCIdentity{{Issuer: "https://x", Subject: "("}}},
			[]string{"matchOIDCIdentity[0].subject: "}},
		{"minAge not a duration", config.Verify{MinAge: "a while"}, []string{"minAge: "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.v.Provider = "cosign"
			_, err := sigverify.NewPolicy(&c.v, dir)
			if err == nil {
				t.Fatal("NewPolicy accepted it")
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), c.want[0]) {
				t.Errorf("error does not start with the field %q: %v", c.want[0], err)
			}
			for _, w := range c.want[1:] {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
		})
	}
}
