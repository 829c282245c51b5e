package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
)

// svidTimeout bounds the wait for the first X.509-SVID when the Workload
// API is opened: an agent that has no identity for this workload would
// otherwise hold New forever.
const svidTimeout = 30 * time.Second

// tlsBuilder makes the TLS configs of the hosts. It opens the Workload API
// once, for the first host that needs it, and shares that source.
type tlsBuilder struct {
	root   string
	source *workloadapi.X509Source
}

// config returns the TLS config for h, which has a tls block: at least
// TLS 1.2, then the server verification and client certificate it names.
// Errors name the field; New adds the host.
func (b *tlsBuilder) config(ctx context.Context, h config.Host) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if sa := h.TLS.ServerAuth; sa != nil {
		if err := b.serverAuth(ctx, cfg, sa); err != nil {
			return nil, err
		}
	}
	// After serverAuth: go-spiffe's hook resets the client certificate.
	if ca := h.TLS.ClientAuth; ca != nil {
		if err := b.clientAuth(ctx, cfg, ca); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func (b *tlsBuilder) serverAuth(ctx context.Context, cfg *tls.Config, sa *config.ServerAuth) error {
	if sa.SPIFFE == nil {
		pemData, field, err := b.pem("tls.serverAuth", sa.FromPath, sa.Value)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return fmt.Errorf("%s: no PEM certificate found, expected a CA bundle", field)
		}
		// Replaces the system roots: only this CA may vouch for the host.
		cfg.RootCAs = pool
		return nil
	}
	const field = "tls.serverAuth.spiffe"
	src, err := b.x509Source(ctx, field)
	if err != nil {
		return err
	}
	var authorizer tlsconfig.Authorizer
	switch s := sa.SPIFFE; {
	case strings.HasSuffix(s.ServerID, "/"):
		authorizer, err = prefixAuthorizer(s.ServerID)
		if err != nil {
			return fmt.Errorf("%s.serverID: %w", field, err)
		}
	case s.ServerID != "":
		id, err := spiffeid.FromString(s.ServerID)
		if err != nil {
			return fmt.Errorf("%s.serverID: %w", field, err)
		}
		authorizer = tlsconfig.AuthorizeID(id)
	case s.TrustDomain == config.TrustDomainSelf:
		svid, err := src.GetX509SVID()
		if err != nil {
			return fmt.Errorf("%s.trustDomain %s: the workload's own X.509-SVID: %w", field, s.TrustDomain, err)
		}
		authorizer = tlsconfig.AuthorizeMemberOf(svid.ID.TrustDomain())
	case s.TrustDomain != "":
		td, err := spiffeid.TrustDomainFromString(s.TrustDomain)
		if err != nil {
			return fmt.Errorf("%s.trustDomain: %w", field, err)
		}
		authorizer = tlsconfig.AuthorizeMemberOf(td)
	default:
		authorizer = tlsconfig.AuthorizeAny()
	}
	// Verifies the server's X.509-SVID against the trust bundle the agent
	// keeps current, instead of a hostname against the system roots.
	tlsconfig.HookTLSClientConfig(cfg, src, authorizer)
	return nil
}

func (b *tlsBuilder) clientAuth(ctx context.Context, cfg *tls.Config, ca *config.ClientAuth) error {
	if ca.SPIFFE {
		src, err := b.x509Source(ctx, "tls.clientAuth.provider")
		if err != nil {
			return err
		}
		// Asked on every handshake, so a rotated SVID is used at once.
		cfg.GetClientCertificate = tlsconfig.GetClientCertificate(src)
		return nil
	}
	if ca.Certificate == nil || ca.Key == nil {
		return errors.New("tls.clientAuth: set either provider or certificate and key")
	}
	certPEM, _, err := b.pem("tls.clientAuth.certificate", ca.Certificate.FromPath, ca.Certificate.Value)
	if err != nil {
		return err
	}
	keyPEM, _, err := b.pem("tls.clientAuth.key", ca.Key.FromPath, ca.Key.Value)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// X509KeyPair's errors describe the PEM, never quote the key.
		return fmt.Errorf("tls.clientAuth: certificate and key: %w", err)
	}
	cfg.Certificates = []tls.Certificate{pair}
	return nil
}

// pem returns PEM data from a file confined to the config's directory or
// inline, and the field it came from.
func (b *tlsBuilder) pem(field, fromPath, value string) ([]byte, string, error) {
	if fromPath == "" {
		return []byte(value), field + ".value", nil
	}
	field = fmt.Sprintf("%s.fromPath %q", field, fromPath)
	data, err := credential.ReadFile(b.root, fromPath)
	if err != nil {
		return nil, field, fmt.Errorf("read %s: %w", field, err)
	}
	return data, field, nil
}

// x509Source opens the Workload API named by $SPIFFE_ENDPOINT_SOCKET the
// first time a host needs it and waits for the first X.509-SVID and bundle.
func (b *tlsBuilder) x509Source(ctx context.Context, field string) (*workloadapi.X509Source, error) {
	if b.source != nil {
		return b.source, nil
	}
	addr := os.Getenv(workloadapi.SocketEnv)
	if addr == "" {
		return nil, fmt.Errorf("%s: %s is not set: point it at the SPIFFE Workload API socket "+
			"(for example unix:///spiffe-workload-api/spire-agent.sock)", field, workloadapi.SocketEnv)
	}
	if err := workloadapi.ValidateAddress(addr); err != nil {
		return nil, fmt.Errorf("%s: %s=%q: %w", field, workloadapi.SocketEnv, addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, svidTimeout)
	defer cancel()
	src, err := workloadapi.NewX509Source(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("%s: get an X.509-SVID from the Workload API at %s: %w "+
			"(is the SPIFFE agent running, and does an entry match this workload?)", field, addr, err)
	}
	b.source = src
	return src, nil
}

// close closes the Workload API source, if one was opened.
func (b *tlsBuilder) close() error {
	if b.source == nil {
		return nil
	}
	return b.source.Close()
}

// prefixAuthorizer accepts the server SVIDs of prefix's trust domain whose
// path starts with prefix's path on a segment boundary: the prefix
// spiffe://example.org/registry/ accepts spiffe://example.org/registry/eu
// and .../registry/eu/1, not spiffe://example.org/registry-old or
// spiffe://example.org/registry itself.
func prefixAuthorizer(prefix string) (tlsconfig.Authorizer, error) {
	base, err := spiffeid.FromString(strings.TrimSuffix(prefix, "/"))
	if err != nil {
		return nil, err
	}
	want := base.Path() + "/"
	return tlsconfig.AdaptMatcher(func(id spiffeid.ID) error {
		if id.TrustDomain() != base.TrustDomain() || !strings.HasPrefix(id.Path(), want) {
			return fmt.Errorf("unexpected ID %q: want one under %s", id, prefix)
		}
		return nil
	}), nil
}
