package config

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
)

var (
	// SourceFields are a credential's token sources, of which exactly one
	// is set, by their field names (the same in every version).
	SourceFields = []string{"value", "fromPath", "jwkPath", "jwkValue", "provider"}

	credentialProviders = []string{
		v1beta1.CredentialProviderGitHub,
		v1beta1.CredentialProviderForgejo,
		v1beta1.CredentialProviderGCP,
		v1beta1.CredentialProviderAzure,
		v1beta1.CredentialProviderAWS,
		v1beta1.CredentialProviderJWTSVID,
	}
)

// addEmpty reports an empty inline secret, and when it was substituted,
// that the substitution made it empty.
func addEmpty(p *problems, path string) {
	if p.substituted(path) {
		p.add(path, "must not be empty (the substitution made it empty: is the variable set but empty?)")
		return
	}
	p.add(path, "must not be empty")
}

// MinJWTLifetime is the shortest credential.exp accepted. A signed JWT has
// to outlive the write (the Kubernetes API or a credential helper, up to
// --timeout) and reach its first reader, a registry whose clock may run a
// few seconds ahead; below ten seconds it is as good as expired when read.
const MinJWTLifetime = 10 * time.Second

// LongJWTLifetime is the credential.exp above which the commands warn: a
// leaked token works that long, and a CronJob re-mints far more often.
const LongJWTLifetime = 24 * time.Hour

// validateCredential checks a token source and the claims that go with it.
// Messages never include Value or JWKValue.
func validateCredential(p *problems, path string, c *v1beta1.Credential) {
	one := p.exactlyOne(path, SourceFields,
		c.Value != nil, c.FromPath != "", c.JWKPath != "", c.JWKValue != nil, c.Provider != "")
	validateSources(p, path, c.Value, c.FromPath, c.JWKPath, c.JWKValue)
	if c.Provider != "" && !slices.Contains(credentialProviders, c.Provider) {
		p.add(field(path, "provider"), "unknown provider %q, expected one of %s",
			c.Provider, safe(strings.Join(credentialProviders, ", ")))
	}
	if c.Envelope != "" {
		if err := checkEnvelope(c.Envelope); err != nil {
			p.add(field(path, "envelope"), "%v", err)
		}
	}
	if one {
		validateClaims(p, path, c)
	}
}

// validateSources checks the token sources that do not depend on the
// version: an inline value or JWK that is set is not empty (and a JWK is
// JSON), file paths are paths. Messages never include the values.
func validateSources(p *problems, path string, value *string, fromPath, jwkPath string, jwkValue *string) {
	if value != nil && *value == "" {
		addEmpty(p, field(path, "value"))
	}
	if fromPath != "" {
		validatePath(p, field(path, "fromPath"), fromPath)
	}
	if jwkPath != "" {
		validatePath(p, field(path, "jwkPath"), jwkPath)
	}
	if jwkValue != nil {
		switch {
		case *jwkValue == "":
			addEmpty(p, field(path, "jwkValue"))
		case !json.Valid([]byte(*jwkValue)):
			p.add(field(path, "jwkValue"), "not JSON, expected a private JWK or a JWK set holding one")
		}
	}
}

// validateClaims checks iss, sub, aud and exp against the one token source
// that is set: a signed JWT needs an issuer and subject, a token minted
// elsewhere takes only an audience, and a fixed token takes none.
func validateClaims(p *problems, path string, c *v1beta1.Credential) {
	source := SourceFields[slices.Index([]bool{
		c.Value != nil, c.FromPath != "", c.JWKPath != "", c.JWKValue != nil, c.Provider != "",
	}, true)]
	signed := c.JWKPath != "" || c.JWKValue != nil
	for _, claim := range []struct{ name, value string }{{"iss", c.Iss}, {"sub", c.Sub}} {
		switch {
		case signed && claim.value == "":
			p.add(field(path, claim.name), "required with %s", safe(source))
		case !signed && claim.value != "":
			p.add(field(path, claim.name), "only allowed with jwkPath or jwkValue, not with %s", safe(source))
		}
	}
	if c.Aud != "" && (c.Value != nil || c.FromPath != "") {
		p.add(field(path, "aud"), "only allowed with jwkPath, jwkValue or provider, not with %s "+
			"(the token is used as it is)", safe(source))
	}
	validateLifetime(p, field(path, "exp"), c.Exp, signed, source)
}

// validateLifetime checks a signed JWT's lifetime (exp in v1beta1,
// expiration in v1beta2) at path: only with a JWK source, a duration of at
// least MinJWTLifetime.
func validateLifetime(p *problems, path, value string, signed bool, source string) {
	switch {
	case value == "":
	case !signed:
		p.add(path, "only allowed with jwkPath or jwkValue, not with %s", safe(source))
	default:
		validateDuration(p, path, value, false)
		if d, err := time.ParseDuration(value); err == nil && d > 0 && d < MinJWTLifetime {
			p.add(path, "is shorter than %s: the token would expire before it is read; use %s or more",
				safe(MinJWTLifetime.String()), safe(MinJWTLifetime.String()))
		}
	}
}
