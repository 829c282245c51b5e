package config

import (
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
)

// fromV1beta2 converts a validated v1beta2 config into the model.
func fromV1beta2(in *v1beta2.Config) *Config {
	out := &Config{APIVersion: in.APIVersion}
	for _, h := range in.Hosts {
		out.Hosts = append(out.Hosts, hostFromV1beta2(h))
	}
	for _, a := range in.Artifacts {
		m := Artifact{Source: a.Source, Destination: a.Destination, IncludeReferrers: a.IncludeReferrers, Overwrite: a.Overwrite,
			Platforms: a.Platforms}
		if s := a.Selector; s != nil {
			m.Selector = &Selector{Semver: s.Semver, SortBy: s.SortBy, Limit: s.Limit}
			if s.Regex != nil {
				m.Selector.Regex = &RegexSelector{Pattern: s.Regex.Pattern, Extract: s.Regex.Extract}
			}
		}
		if v := a.Verify; v != nil {
			m.Verify = &Verify{Provider: v.Provider, MinAge: v.MinAge, TrustedRoot: v.TrustedRoot, PublicKey: v.PublicKey}
			for _, id := range v.MatchOIDCIdentity {
				m.Verify.MatchOIDCIdentity = append(m.Verify.MatchOIDCIdentity, OIDCIdentity{Issuer: id.Issuer, Subject: id.Subject})
			}
		}
		out.Artifacts = append(out.Artifacts, m)
	}
	for _, c := range in.Charts {
		out.Charts = append(out.Charts, Chart{Name: c.Name, Source: c.Source, Destination: c.Destination, Version: c.Version, Limit: c.Limit, Overwrite: c.Overwrite})
	}
	return out
}

func hostFromV1beta2(h v1beta2.Host) Host {
	out := Host{Host: h.Host}
	if cloudProvider(h.Provider) {
		out.Provider = h.Provider
	}
	if h.MaxChunkSize != nil {
		out.MaxChunkSize = *h.MaxChunkSize
	}
	if c := h.Credential; c != nil {
		s := &Source{
			Username: c.Username, Value: c.Value, FromPath: c.FromPath, JWKPath: c.JWKPath, JWKValue: c.JWKValue,
			Provider: c.Provider, Audiences: c.Audiences, Issuer: c.Issuer, Subject: c.Subject, Envelope: c.Envelope,
		}
		if c.JWKPath != "" || c.JWKValue != nil {
			s.Expiration = v1beta2.DefaultJWTLifetime
			if c.Expiration != "" {
				// Validated: it parses.
				s.Expiration, _ = time.ParseDuration(c.Expiration)
			}
		}
		defaultAudiences(s, h.Host)
		out.Credential = s
	}
	if t := h.TLS; t != nil {
		out.TLS = &TLS{}
		if sa := t.ServerAuth; sa != nil {
			out.TLS.ServerAuth = &ServerAuth{FromPath: sa.FromPath, Value: sa.Value}
			if sp := sa.SPIFFE; sp != nil {
				out.TLS.ServerAuth.SPIFFE = &SPIFFEServer{ServerID: sp.ServerID, TrustDomain: sp.TrustDomain}
			}
		}
		if ca := t.ClientAuth; ca != nil {
			out.TLS.ClientAuth = &ClientAuth{SPIFFE: ca.Provider == v1beta2.TLSProviderSPIFFE, Certificate: pem2(ca.Certificate), Key: pem2(ca.Key)}
		}
	}
	return out
}
