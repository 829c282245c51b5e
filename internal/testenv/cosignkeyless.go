package testenv

import "testing"

// VerifyKeyless runs `cosign verify` on ref keylessly against the
// trusted_root.json at trustedRoot (as Sigstore.WriteTrustedRoot writes
// it), for the issuer (exact) and an identity regular expression, and
// returns its output and error for the test to judge. SCTs are not
// required: the test Sigstore's certificates carry none.
func (c *Cosign) VerifyKeyless(t testing.TB, ref, trustedRoot, issuer, identityRegexp string) (string, error) {
	t.Helper()
	return RunClient(t, c.bin, c.home, c.env, "verify", "--trusted-root", trustedRoot,
		"--certificate-oidc-issuer", issuer, "--certificate-identity-regexp", identityRegexp,
		"--insecure-ignore-sct", "--allow-insecure-registry", "--allow-http-registry", ref)
}
