package schematest_test

import (
	"reflect"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/config"
)

// TestRepositoryConfigsInBothVersions writes every config the repository
// holds that loads (examples, testdata, README and docs) in the other
// version, loads that, and requires the same model: the commands see only
// the model, so the two files give the same Secret, Docker config and
// sync. (The hand-written pair in internal/cli's secret tests checks the
// bytes of secret --export and login through the real commands.)
func TestRepositoryConfigsInBothVersions(t *testing.T) {
	t.Parallel()
	n := 0
	for _, c := range findConfigs(t) {
		loaded, err := loadModel(c)
		if err != nil {
			continue // an invalid-input fixture
		}
		m := loaded.Config
		if m.Hosts == nil || hasAuthorizeAny(m) || manyAudiences(m) {
			continue // nothing version-specific, or no form in the other version
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			var other any = toV1beta1(m)
			if m.APIVersion == v1beta1.GroupVersion {
				other = toV1beta2(m)
			}
			doc, err := yaml.Marshal(other)
			if err != nil {
				t.Fatal(err)
			}
			back, err := config.Parse(doc)
			if err != nil {
				t.Fatalf("written in the other version it does not load: %v\n%s", err, doc)
			}
			// Artifacts and charts are written the same in both versions
			// and validated on the model; the hosts are what differ.
			if !reflect.DeepEqual(m.Hosts, back.Hosts) {
				t.Errorf("the two versions load different hosts:\n%s", doc)
			}
		})
	}
	if n == 0 {
		t.Fatal("no config with hosts found")
	}
}

func manyAudiences(m *config.Config) bool {
	for _, h := range m.Hosts {
		if h.Credential != nil && len(h.Credential.Audiences) > 1 {
			return true
		}
	}
	return false
}

func hasAuthorizeAny(m *config.Config) bool {
	for _, h := range m.Hosts {
		if h.TLS != nil && h.TLS.ServerAuth != nil && h.TLS.ServerAuth.SPIFFE != nil && h.TLS.ServerAuth.SPIFFE.AuthorizeAny {
			return true
		}
	}
	return false
}

// toV1beta2 writes the model as a v1beta2 file (hosts only: the other
// sections are the same in both versions).
func toV1beta2(m *config.Config) *v1beta2.Config {
	out := &v1beta2.Config{APIVersion: v1beta2.GroupVersion, Kind: v1beta2.Kind}
	for _, h := range m.Hosts {
		w := v1beta2.Host{Host: h.Host, Provider: h.Provider, MaxChunkSize: chunk(h.MaxChunkSize)}
		if c := h.Credential; c != nil {
			w.Credential = &v1beta2.Credential{
				Type: v1beta2.CredentialTypeJWT, Username: c.Username, Value: c.Value, FromPath: c.FromPath,
				JWKPath: c.JWKPath, JWKValue: c.JWKValue, Provider: c.Provider, Audiences: c.Audiences,
				Issuer: c.Issuer, Subject: c.Subject, Expiration: duration(c), Envelope: c.Envelope,
			}
		}
		if t := h.TLS; t != nil {
			w.TLS = &v1beta2.TLS{}
			if sa := t.ServerAuth; sa != nil {
				w.TLS.ServerAuth = &v1beta2.ServerAuth{FromPath: sa.FromPath, Value: sa.Value}
				if sp := sa.SPIFFE; sp != nil {
					w.TLS.ServerAuth.Provider = v1beta2.TLSProviderSPIFFE
					w.TLS.ServerAuth.SPIFFE = &v1beta2.SPIFFEServer{ServerID: sp.ServerID, TrustDomain: sp.TrustDomain}
				}
			}
			if ca := t.ClientAuth; ca != nil {
				w.TLS.ClientAuth = &v1beta2.ClientAuth{Certificate: pem2(ca.Certificate), Key: pem2(ca.Key)}
				if ca.SPIFFE {
					w.TLS.ClientAuth.Provider = v1beta2.TLSProviderSPIFFE
				}
			}
		}
		out.Hosts = append(out.Hosts, w)
	}
	return out
}

// toV1beta1 writes the model as a v1beta1 file (hosts only).
func toV1beta1(m *config.Config) *v1beta1.Config {
	out := &v1beta1.Config{APIVersion: v1beta1.GroupVersion, Kind: v1beta1.Kind}
	for _, h := range m.Hosts {
		w := v1beta1.Host{Host: h.Host, Provider: h.Provider, MaxChunkSize: chunk(h.MaxChunkSize)}
		if c := h.Credential; c != nil {
			w.Username = c.Username
			w.Credential = &v1beta1.Credential{
				Value: c.Value, FromPath: c.FromPath, JWKPath: c.JWKPath, JWKValue: c.JWKValue, Provider: c.Provider,
				Iss: c.Issuer, Sub: c.Subject, Exp: duration(c), Envelope: c.Envelope,
			}
			if c.Provider == config.SourceSPIFFE {
				w.Credential.Provider = v1beta1.CredentialProviderJWTSVID
			}
			if len(c.Audiences) == 1 && c.Audiences[0] != h.Host {
				w.Credential.Aud = c.Audiences[0]
			}
		}
		if t := h.TLS; t != nil {
			w.TLS = &v1beta1.TLS{}
			if sa := t.ServerAuth; sa != nil {
				w.TLS.ServerAuth = &v1beta1.ServerAuth{FromPath: sa.FromPath, Value: sa.Value}
				if sp := sa.SPIFFE; sp != nil {
					w.TLS.ServerAuth.SPIFFE = &v1beta1.SPIFFEServer{ServerID: sp.ServerID, TrustDomain: sp.TrustDomain}
				}
			}
			if ca := t.ClientAuth; ca != nil {
				w.TLS.ClientAuth = &v1beta1.ClientAuth{Certificate: pem1(ca.Certificate), Key: pem1(ca.Key)}
				if ca.SPIFFE {
					w.TLS.ClientAuth.Provider = v1beta1.ClientProviderX509SVID
				}
			}
		}
		out.Hosts = append(out.Hosts, w)
	}
	return out
}

func chunk(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

// duration writes a signed JWT's lifetime, or nothing for other sources.
func duration(c *config.Source) string {
	if c.Expiration == 0 {
		return ""
	}
	return c.Expiration.Round(time.Second).String()
}

func pem2(p *config.PEMSource) *v1beta2.PEMSource {
	if p == nil {
		return nil
	}
	return &v1beta2.PEMSource{FromPath: p.FromPath, Value: p.Value}
}

func pem1(p *config.PEMSource) *v1beta1.PEMSource {
	if p == nil {
		return nil
	}
	return &v1beta1.PEMSource{FromPath: p.FromPath, Value: p.Value}
}
