package config

import (
	"slices"
	"strings"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/cloudhost"
)

// The v1beta2 names of the one-of groups and enumerations, in the order
// messages list them.
var (
	v1beta2RegistryProviders = []string{
		v1beta2.RegistryProviderGeneric, v1beta2.RegistryProviderECR,
		v1beta2.RegistryProviderACR, v1beta2.RegistryProviderGAR,
	}
	v1beta2CredentialProviders = []string{
		v1beta2.CredentialProviderGitHub, v1beta2.CredentialProviderForgejo, v1beta2.CredentialProviderGCP,
		v1beta2.CredentialProviderAzure, v1beta2.CredentialProviderAWS, v1beta2.CredentialProviderSPIFFE,
	}
)

// validateV1beta2 checks a decoded v1beta2 config, all problems at once
// with their lines, and returns it converted to the model.
func validateV1beta2(cfg *v1beta2.Config, at positions) (*Config, error) {
	p := problems{positions: at}
	validateIdentity(&p, cfg.APIVersion, cfg.Kind, v1beta2.GroupVersion)
	names := make([]string, len(cfg.Hosts))
	for i := range cfg.Hosts {
		validateHostV1beta2(&p, index("hosts", i), &cfg.Hosts[i])
		names[i] = cfg.Hosts[i].Host
	}
	checkUniqueHosts(&p, names)
	model := fromV1beta2(cfg)
	validateMirror(&p, model)
	if err := p.err(); err != nil {
		return nil, err
	}
	return model, nil
}

// cloudProvider says whether a v1beta2 host provider is a cloud one, which
// brings its own credentials.
func cloudProvider(provider string) bool {
	return provider != "" && provider != v1beta2.RegistryProviderGeneric
}

func validateHostV1beta2(p *problems, path string, h *v1beta2.Host) {
	if h.Host == "" {
		p.add(field(path, "host"), "required")
	} else if err := ValidateHost(h.Host); err != nil {
		p.add(field(path, "host"), "%v", err)
	}
	switch {
	case h.Provider != "" && !slices.Contains(v1beta2RegistryProviders, h.Provider):
		p.add(field(path, "provider"), "unknown provider %q, expected one of %s",
			h.Provider, safe(strings.Join(v1beta2RegistryProviders, ", ")))
	case cloudProvider(h.Provider):
		checkCloudHost(p, path, h.Provider, h.Host)
		for _, other := range []struct {
			name string
			set  bool
		}{{"credential", h.Credential != nil}, {"tls", h.TLS != nil}} {
			if other.set {
				p.add(field(path, other.name), "not allowed with provider %s, which brings its own credentials", safe(h.Provider))
			}
		}
	}
	if h.Credential != nil {
		validateCredentialV1beta2(p, field(path, "credential"), h.Credential)
	}
	if h.TLS != nil {
		validateTLSV1beta2(p, field(path, "tls"), h.TLS)
	}
	if h.MaxChunkSize != nil && *h.MaxChunkSize < 0 {
		p.add(field(path, "maxChunkSize"), "must not be negative")
	}
	chunk := h.MaxChunkSize != nil && *h.MaxChunkSize > 0
	if h.Credential == nil && !cloudProvider(h.Provider) && h.TLS == nil && !chunk {
		p.add(path, "set at least one of credential, a cloud provider (ecr, acr, gar), tls, maxChunkSize")
	}
}

// checkCloudHost checks that a cloud provider serves the host.
func checkCloudHost(p *problems, path, provider, host string) {
	if host == "" {
		return
	}
	if err := cloudhost.Check(provider, host); err != nil {
		if p.substituted(field(path, "host")) {
			// cloudhost's message quotes the host.
			p.add(field(path, "host"), "not a registry host that provider %s serves", safe(provider))
		} else {
			p.add(field(path, "host"), "%v", err)
		}
	}
}

// validateCredentialV1beta2 checks a v1beta2 token source. Messages never
// include value, jwkValue or envelope output.
func validateCredentialV1beta2(p *problems, path string, c *v1beta2.Credential) {
	switch c.Type {
	case v1beta2.CredentialTypeJWT:
	case "":
		p.add(field(path, "type"), "required, set it to %s", safe(v1beta2.CredentialTypeJWT))
	default:
		p.add(field(path, "type"), "unknown type %q, expected %s", c.Type, safe(v1beta2.CredentialTypeJWT))
	}
	set := []bool{c.Value != nil, c.FromPath != "", c.JWKPath != "", c.JWKValue != nil, c.Provider != ""}
	one := p.exactlyOne(path, SourceFields, set...)
	validateSources(p, path, c.Value, c.FromPath, c.JWKPath, c.JWKValue)
	if c.Provider != "" && !slices.Contains(v1beta2CredentialProviders, c.Provider) {
		hint := ""
		if c.Provider == "jwt-svid" {
			hint = " (jwt-svid is the v1beta1 name: write spiffe)"
		}
		p.add(field(path, "provider"), "unknown provider %q, expected one of %s%s",
			c.Provider, safe(strings.Join(v1beta2CredentialProviders, ", ")), safe(hint))
	}
	if c.Envelope != "" {
		if err := checkEnvelope(c.Envelope); err != nil {
			p.add(field(path, "envelope"), "%v", err)
		}
	}
	if one {
		source := SourceFields[slices.Index(set, true)]
		validateClaimsV1beta2(p, path, source, c)
	}
}

// validateClaimsV1beta2 checks audiences, issuer, subject and expiration
// against the token source that is set.
func validateClaimsV1beta2(p *problems, path, source string, c *v1beta2.Credential) {
	signed := c.JWKPath != "" || c.JWKValue != nil
	for _, claim := range []struct{ name, value string }{{"issuer", c.Issuer}, {"subject", c.Subject}} {
		switch {
		case signed && claim.value == "":
			p.add(field(path, claim.name), "required with %s", safe(source))
		case !signed && claim.value != "":
			p.add(field(path, claim.name), "only allowed with jwkPath or jwkValue, not with %s", safe(source))
		}
	}
	switch {
	case c.Audiences != nil && (c.Value != nil || c.FromPath != ""):
		p.add(field(path, "audiences"), "only allowed with jwkPath, jwkValue or provider, not with %s (the token is used as it is)", safe(source))
	case c.Audiences != nil && len(c.Audiences) == 0:
		p.add(field(path, "audiences"), "must not be empty: leave it out for the default (the host)")
	case len(c.Audiences) > 1 && (c.Provider == v1beta2.CredentialProviderGCP || c.Provider == v1beta2.CredentialProviderAzure):
		p.add(field(path, "audiences"), "provider %s takes one audience, got %d", safe(c.Provider), len(c.Audiences))
	}
	for i, a := range c.Audiences {
		if a == "" {
			addEmpty(p, index(field(path, "audiences"), i))
		}
	}
	validateLifetime(p, field(path, "expiration"), c.Expiration, signed, source)
}

func validateTLSV1beta2(p *problems, path string, t *v1beta2.TLS) {
	if t.ServerAuth == nil && t.ClientAuth == nil {
		p.add(path, "set at least one of serverAuth, clientAuth")
	}
	if s := t.ServerAuth; s != nil {
		validateServerAuthV1beta2(p, field(path, "serverAuth"), s)
	}
	if c := t.ClientAuth; c != nil {
		at := field(path, "clientAuth")
		if c.Provider != "" && c.Provider != v1beta2.TLSProviderSPIFFE {
			hint := ""
			if c.Provider == "x509-svid" {
				hint = " (x509-svid is the v1beta1 name)"
			}
			p.add(field(at, "provider"), "unknown provider %q, expected %s%s", c.Provider, safe(v1beta2.TLSProviderSPIFFE), safe(hint))
		}
		validateClientPair(p, at, c.Provider != "", pem2(c.Certificate), pem2(c.Key), v1beta2.TLSProviderSPIFFE)
	}
}

func validateServerAuthV1beta2(p *problems, path string, s *v1beta2.ServerAuth) {
	switch s.Provider {
	case "":
		if s.SPIFFE != nil {
			p.add(field(path, "provider"), "required with spiffe: set it to %s", safe(v1beta2.TLSProviderSPIFFE))
		} else {
			p.exactlyOne(path, []string{"fromPath", "value"}, s.FromPath != "", s.Value != "")
		}
	case v1beta2.TLSProviderSPIFFE:
		if s.SPIFFE == nil {
			p.add(field(path, "spiffe"), "required with provider %s", safe(v1beta2.TLSProviderSPIFFE))
		}
		for _, other := range []struct {
			name string
			set  bool
		}{{"fromPath", s.FromPath != ""}, {"value", s.Value != ""}} {
			if other.set {
				p.add(field(path, other.name), "not allowed with provider %s", safe(v1beta2.TLSProviderSPIFFE))
			}
		}
	default:
		p.add(field(path, "provider"), "unknown provider %q, expected %s", s.Provider, safe(v1beta2.TLSProviderSPIFFE))
	}
	if s.FromPath != "" {
		validatePath(p, field(path, "fromPath"), s.FromPath)
	}
	if s.Value != "" {
		validatePEM(p, field(path, "value"), s.Value, "a CA bundle", isCertificate)
	}
	if sp := s.SPIFFE; sp != nil {
		at := field(path, "spiffe")
		p.exactlyOne(at, []string{"serverID", "trustDomain"}, sp.ServerID != "", sp.TrustDomain != "")
		if sp.ServerID != "" {
			// A trailing slash makes the ID a prefix: check the ID before it.
			id := sp.ServerID
			if prefix, ok := strings.CutSuffix(id, "/"); ok && strings.Count(prefix, "/") >= 2 {
				id = prefix
			}
			if err := validateSPIFFEID(id); err != nil {
				p.add(field(at, "serverID"), "%v", err)
			}
		}
		validateTrustDomainField(p, field(at, "trustDomain"), sp.TrustDomain)
	}
}

func pem2(s *v1beta2.PEMSource) *PEMSource {
	if s == nil {
		return nil
	}
	return &PEMSource{FromPath: s.FromPath, Value: s.Value}
}
