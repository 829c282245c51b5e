package config

import (
	"encoding/pem"
	"strings"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
)

// validateTLS checks a host's transport TLS settings. Messages never include
// inline PEM data: a key is a secret.
func validateTLS(p *problems, path string, t *v1beta1.TLS) {
	if t.ServerAuth == nil && t.ClientAuth == nil {
		p.add(path, "set at least one of serverAuth, clientAuth")
	}
	if t.ServerAuth != nil {
		validateServerAuth(p, field(path, "serverAuth"), t.ServerAuth)
	}
	if t.ClientAuth != nil {
		validateClientAuth(p, field(path, "clientAuth"), t.ClientAuth)
	}
}

func validateServerAuth(p *problems, path string, s *v1beta1.ServerAuth) {
	p.exactlyOne(path, []string{"fromPath", "value", "spiffe"},
		s.FromPath != "", s.Value != "", s.SPIFFE != nil)
	if s.FromPath != "" {
		validatePath(p, field(path, "fromPath"), s.FromPath)
	}
	if s.Value != "" {
		validatePEM(p, field(path, "value"), s.Value, "a CA bundle", isCertificate)
	}
	if s.SPIFFE != nil {
		validateSPIFFEServer(p, field(path, "spiffe"), s.SPIFFE)
	}
}

func validateSPIFFEServer(p *problems, path string, s *v1beta1.SPIFFEServer) {
	p.exactlyOne(path, []string{"serverID", "trustDomain", "authorizeAny"},
		s.ServerID != "", s.TrustDomain != "", s.AuthorizeAny)
	if s.ServerID != "" {
		if err := validateSPIFFEID(s.ServerID); err != nil {
			p.add(field(path, "serverID"), "%v", err)
		}
	}
	validateTrustDomainField(p, field(path, "trustDomain"), s.TrustDomain)
}

// validateTrustDomainField checks a trustDomain field: a trust domain name
// or "self".
func validateTrustDomainField(p *problems, path, td string) {
	if td == "" || td == TrustDomainSelf {
		return
	}
	if name, ok := strings.CutPrefix(td, "spiffe://"); ok {
		p.add(path, "write the trust domain name without spiffe://, %q", name)
	} else if err := validateTrustDomain(td); err != nil {
		p.add(path, "%v, or write %q for the client's own", err, safe(TrustDomainSelf))
	}
}

func validateClientAuth(p *problems, path string, c *v1beta1.ClientAuth) {
	if c.Provider != "" && c.Provider != v1beta1.ClientProviderX509SVID {
		p.add(field(path, "provider"), "unknown provider %q, expected %s", c.Provider, safe(v1beta1.ClientProviderX509SVID))
	}
	validateClientPair(p, path, c.Provider != "", pem1(c.Certificate), pem1(c.Key), v1beta1.ClientProviderX509SVID)
}

func pem1(s *v1beta1.PEMSource) *PEMSource {
	if s == nil {
		return nil
	}
	return &PEMSource{FromPath: s.FromPath, Value: s.Value}
}

// validateClientPair checks that a clientAuth sets either its provider
// (named spiffeName in the version written) or a certificate and key, and
// the PEM sources given.
func validateClientPair(p *problems, path string, provider bool, cert, key *PEMSource, spiffeName string) {
	switch {
	case provider:
		if cert != nil || key != nil {
			p.add(path, "set either provider or certificate and key, not both")
		}
	case cert == nil && key == nil:
		p.add(path, "set either provider: %s, or certificate and key", safe(spiffeName))
	case cert == nil:
		p.add(field(path, "certificate"), "required with key")
	case key == nil:
		p.add(field(path, "key"), "required with certificate")
	}
	if cert != nil {
		validatePEMSource(p, field(path, "certificate"), cert, "a certificate", isCertificate)
	}
	if key != nil {
		validatePEMSource(p, field(path, "key"), key, "a private key", isPrivateKey)
	}
}

func validatePEMSource(p *problems, path string, s *PEMSource, what string, accept func(string) bool) {
	p.exactlyOne(path, []string{"fromPath", "value"}, s.FromPath != "", s.Value != "")
	if s.FromPath != "" {
		validatePath(p, field(path, "fromPath"), s.FromPath)
	}
	if s.Value != "" {
		validatePEM(p, field(path, "value"), s.Value, what, accept)
	}
}

// validatePEM checks that inline data holds PEM blocks, all of a type that
// accept allows. The certificates and keys themselves are parsed by the
// packages that use them.
func validatePEM(p *problems, path, data, what string, accept func(string) bool) {
	rest := []byte(data)
	blocks := 0
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			break
		}
		if !accept(block.Type) {
			p.add(path, "holds a PEM block of type %q, expected %s", block.Type, safe(what))
			return
		}
		blocks++
		rest = next
	}
	if blocks == 0 {
		p.add(path, "no PEM data, expected %s", safe(what))
	}
}

func isCertificate(blockType string) bool { return blockType == "CERTIFICATE" }

func isPrivateKey(blockType string) bool { return strings.HasSuffix(blockType, "PRIVATE KEY") }

// validateSPIFFEID checks a SPIFFE ID: spiffe://<trust domain>[/<path>].
func validateSPIFFEID(id string) error {
	rest, ok := strings.CutPrefix(id, "spiffe://")
	if !ok {
		return valueErrorf("must be a SPIFFE ID (spiffe://trust-domain/path)")
	}
	domain, path, hasPath := strings.Cut(rest, "/")
	if err := validateTrustDomain(domain); err != nil {
		return err
	}
	if !hasPath {
		return nil
	}
	for _, segment := range strings.Split(path, "/") {
		switch segment {
		case "":
			return valueErrorf("empty path segment in the SPIFFE ID (check for a doubled or trailing slash)")
		case ".", "..":
			return valueErrorf(`the SPIFFE ID path must not contain "." or ".." segments`)
		}
		for _, c := range segment {
			if !isSPIFFEChar(c) && !('A' <= c && c <= 'Z') {
				return valueErrorf("invalid character %q in the SPIFFE ID path", c)
			}
		}
	}
	return nil
}

// validateTrustDomain checks a trust domain name: lowercase letters, digits,
// ".", "-" and "_".
func validateTrustDomain(name string) error {
	if name == "" {
		return valueErrorf("empty trust domain")
	}
	for _, c := range name {
		if !isSPIFFEChar(c) {
			return valueErrorf("invalid character %q in the trust domain (allowed: a-z, 0-9, '.', '-', '_')", c)
		}
	}
	return nil
}

func isSPIFFEChar(c rune) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}
