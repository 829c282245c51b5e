package config

import (
	"fmt"
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/api/v1beta2"
)

// fromV1beta1 converts a validated v1beta1 config into the model, and
// lists what to rename to write it as v1beta2.
func fromV1beta1(in *v1beta1.Config) *Config {
	out := &Config{APIVersion: in.APIVersion}
	d := deprecations{}
	d.add("apiVersion: " + v1beta2.GroupVersion)
	for i, h := range in.Hosts {
		out.Hosts = append(out.Hosts, hostFromV1beta1(index("hosts", i), h, &d))
	}
	out.Artifacts = artifactsFromV1beta1(in.Artifacts)
	out.Charts = chartsFromV1beta1(in.Charts)
	out.Deprecations = d.list
	return out
}

// deprecations collects renames, each once.
type deprecations struct {
	list []string
	seen map[string]bool
}

func (d *deprecations) add(s string) {
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if !d.seen[s] {
		d.seen[s] = true
		d.list = append(d.list, s)
	}
}

func hostFromV1beta1(path string, h v1beta1.Host, d *deprecations) Host {
	out := Host{Host: h.Host, Provider: h.Provider}
	if h.MaxChunkSize != nil {
		out.MaxChunkSize = *h.MaxChunkSize
	}
	if c := h.Credential; c != nil {
		d.add("hosts[].credential gains type: jwt (required)")
		s := &Source{
			Username: h.Username, Value: c.Value, FromPath: c.FromPath, JWKPath: c.JWKPath, JWKValue: c.JWKValue,
			Provider: c.Provider, Issuer: c.Iss, Subject: c.Sub, Envelope: c.Envelope,
		}
		if h.Username != "" {
			d.add("hosts[].username moves to hosts[].credential.username")
		}
		if c.Provider == v1beta1.CredentialProviderJWTSVID {
			s.Provider = SourceSPIFFE
			d.add("credential.provider: jwt-svid becomes spiffe")
		}
		if c.Aud != "" {
			s.Audiences = []string{c.Aud}
			d.add("credential.aud becomes audiences (a list)")
		}
		for _, r := range []struct {
			rename string
			set    bool
		}{{"iss becomes issuer", c.Iss != ""}, {"sub becomes subject", c.Sub != ""}, {"exp becomes expiration", c.Exp != ""}} {
			if r.set {
				d.add("credential." + r.rename)
			}
		}
		if c.JWKPath != "" || c.JWKValue != nil {
			s.Expiration = v1beta1.DefaultJWTLifetime
			if c.Exp != "" {
				// Validated: it parses.
				s.Expiration, _ = time.ParseDuration(c.Exp)
			}
		}
		defaultAudiences(s, h.Host)
		out.Credential = s
	}
	if h.TLS != nil {
		out.TLS = tlsFromV1beta1(path, h.TLS, d)
	}
	return out
}

// defaultAudiences gives a token source that takes audiences the host as
// its one audience when the file named none.
func defaultAudiences(s *Source, host string) {
	if len(s.Audiences) == 0 && (s.Provider != "" || s.JWKPath != "" || s.JWKValue != nil) {
		s.Audiences = []string{host}
	}
}

func tlsFromV1beta1(path string, t *v1beta1.TLS, d *deprecations) *TLS {
	out := &TLS{}
	if sa := t.ServerAuth; sa != nil {
		out.ServerAuth = &ServerAuth{FromPath: sa.FromPath, Value: sa.Value}
		if sp := sa.SPIFFE; sp != nil {
			d.add("tls.serverAuth.spiffe gains provider: spiffe beside it (tls.serverAuth.provider)")
			out.ServerAuth.SPIFFE = &SPIFFEServer{ServerID: sp.ServerID, TrustDomain: sp.TrustDomain, AuthorizeAny: sp.AuthorizeAny}
			if sp.AuthorizeAny {
				d.add(fmt.Sprintf("%s.tls.serverAuth.spiffe.authorizeAny is removed: name the trustDomain, or a serverID prefix ending in /", path))
			}
		}
	}
	if ca := t.ClientAuth; ca != nil {
		out.ClientAuth = &ClientAuth{SPIFFE: ca.Provider == v1beta1.ClientProviderX509SVID}
		if out.ClientAuth.SPIFFE {
			d.add("tls.clientAuth.provider: x509-svid becomes spiffe")
		}
		if ca.Certificate != nil {
			out.ClientAuth.Certificate = &PEMSource{FromPath: ca.Certificate.FromPath, Value: ca.Certificate.Value}
		}
		if ca.Key != nil {
			out.ClientAuth.Key = &PEMSource{FromPath: ca.Key.FromPath, Value: ca.Key.Value}
		}
	}
	return out
}

func artifactsFromV1beta1(in []v1beta1.Artifact) []Artifact {
	var out []Artifact
	for _, a := range in {
		m := Artifact{Source: a.Source, Destination: a.Destination, IncludeReferrers: a.IncludeReferrers, Overwrite: a.Overwrite}
		if s := a.Selector; s != nil {
			m.Selector = &Selector{Semver: s.Semver, SortBy: s.SortBy, Limit: s.Limit}
			if s.Regex != nil {
				m.Selector.Regex = &RegexSelector{Pattern: s.Regex.Pattern, Extract: s.Regex.Extract}
			}
		}
		if v := a.Verify; v != nil {
			m.Verify = &Verify{Provider: v.Provider, MinAge: v.MinAge}
			for _, id := range v.MatchOIDCIdentity {
				m.Verify.MatchOIDCIdentity = append(m.Verify.MatchOIDCIdentity, OIDCIdentity{Issuer: id.Issuer, Subject: id.Subject})
			}
		}
		out = append(out, m)
	}
	return out
}

func chartsFromV1beta1(in []v1beta1.Chart) []Chart {
	var out []Chart
	for _, c := range in {
		out = append(out, Chart{Name: c.Name, Source: c.Source, Destination: c.Destination, Version: c.Version, Limit: c.Limit, Overwrite: c.Overwrite})
	}
	return out
}
