// Package registry is go-containerregistry's view of a config's hosts: the
// credentials, transports and TLS settings that every registry request of
// sync goes through.
//
// New builds the per-host transports and opens SPIFFE sources; credentials
// are minted by internal/credential when a host is first used and minted
// again before they expire. RemoteOptions hands the result to
// go-containerregistry's remote package.
package registry

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/dockerconfig"
)

// maxIdleConnsPerHost keeps a connection per concurrent job open between
// requests; sync's --concurrency is far below it.
const maxIdleConnsPerHost = 64

// Options configure New.
type Options struct {
	// Root is the config file's directory; relative paths in hosts are
	// confined to it.
	Root string
	// Hosts are the config's hosts; may be empty.
	Hosts []config.Host
	// Credentials are passed to internal/credential when a host's
	// credential is minted; its HTTPClient carries the identity providers'
	// traffic, never the registries'.
	Credentials credential.Options
	// Logger receives verbose detail (mints, chunked uploads), never a
	// secret; nil discards it.
	Logger func(format string, args ...any)
	// DialContext, when set, opens every connection to a registry (and to
	// the token services they send clients to) in place of the default
	// dialer. It is a test seam: it lets a test reach a loopback registry
	// under a cloud registry's name (an ECR host), whose credential only
	// that name gets. Nil in production.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Registries holds the per-host credentials and transports. It is safe for
// concurrent use; Close it when done.
type Registries struct {
	hosts    map[string]*host // by hostKey
	fallback *http.Transport  // hosts not listed, or listed without tls
	tls      tlsBuilder
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	rt       http.RoundTripper
	logf     func(format string, args ...any)

	closeOnce sync.Once
	closeErr  error
}

// host is one listed host.
type host struct {
	name string // as hosts names it
	// minter mints the host's credential; nil when the entry has no
	// credential or provider.
	minter *minter
	// stamped puts the minter's token as a bearer token on every request.
	stamped bool
	// transport is the host's own transport.
	transport *http.Transport
	// chunk is maxChunkSize in bytes; zero uploads a blob in one request.
	chunk int64
	// buffers reuses chunk buffers across uploads.
	buffers sync.Pool
}

// New builds the transports and TLS settings of o.Hosts and opens the
// SPIFFE Workload API when a host's tls needs it. It mints nothing: each
// credential is minted when its host is first used. Errors name the host.
func New(ctx context.Context, o Options) (*Registries, error) {
	r := &Registries{
		hosts:    make(map[string]*host, len(o.Hosts)),
		fallback: newTransport(&tls.Config{MinVersion: tls.VersionTLS12}, o.DialContext),
		tls:      tlsBuilder{root: o.Root},
		dial:     o.DialContext,
		logf:     o.Logger,
	}
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	for _, h := range o.Hosts {
		e, err := r.newHost(ctx, o, h)
		if err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("host %q: %w", h.Host, err)
		}
		r.hosts[hostKey(h.Host)] = e
	}
	r.rt = &roundTripper{r: r}
	return r, nil
}

func (r *Registries) newHost(ctx context.Context, o Options, h config.Host) (*host, error) {
	// Each listed host has its own transport, so that its TLS settings
	// and its connection pool are its own.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if h.TLS != nil {
		var err error
		if cfg, err = r.tls.config(ctx, h); err != nil {
			return nil, err
		}
	}
	e := &host{name: h.Host, transport: newTransport(cfg, r.dial)}
	if h.MaxChunkSize > 0 {
		e.chunk = h.MaxChunkSize * 1024
		size := e.chunk
		e.buffers.New = func() any { b := make([]byte, size); return &b }
	}
	if h.Credential != nil || h.Provider != "" {
		e.minter = &minter{
			root: o.Root, host: h, opts: o.Credentials,
			resolve: credential.Resolve, now: time.Now, logf: r.logf,
		}
		e.stamped = h.Provider == "" && (h.Credential == nil || h.Credential.Username == "")
	}
	return e, nil
}

// newTransport returns a transport like Go's default (proxy from the
// environment, HTTP/2, timeouts) with cfg and room for parallel jobs; dial
// replaces the default dialer when not nil.
func newTransport(cfg *tls.Config, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	if dial != nil {
		t.DialContext = dial
	}
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	return t
}

// RemoteOptions returns the options that make go-containerregistry use the
// hosts' credentials and transports: a keychain and one transport that
// dispatches each request to its host's. Append per-call options (context,
// jobs, progress, platform) after them, but no other transport or
// authentication option: it would replace these.
func (r *Registries) RemoteOptions() []remote.Option {
	return []remote.Option{
		remote.WithAuthFromKeychain(r.Keychain()),
		remote.WithTransport(r.Transport()),
	}
}

// Keychain returns the keychain RemoteOptions installs: the hosts' own
// credentials, the Docker config for the others. For callers that build
// their options themselves.
func (r *Registries) Keychain() authn.Keychain {
	return keychain{r: r, fallback: authn.DefaultKeychain}
}

// Transport returns the transport RemoteOptions installs, for callers that
// wrap it (the mirror engine notes Retry-After beneath it) and install it
// with remote.WithTransport themselves.
func (r *Registries) Transport() http.RoundTripper {
	return r.rt
}

// Close closes the SPIFFE source and idle connections. It is safe to call
// more than once.
func (r *Registries) Close() error {
	r.closeOnce.Do(func() {
		for _, h := range r.hosts {
			h.transport.CloseIdleConnections()
		}
		r.fallback.CloseIdleConnections()
		if err := r.tls.close(); err != nil {
			r.closeErr = fmt.Errorf("close the SPIFFE Workload API source: %w", err)
		}
	})
	return r.closeErr
}

// lookup returns the listed host a registry name or URL host refers to,
// or nil.
func (r *Registries) lookup(name string) *host {
	return r.hosts[hostKey(name)]
}

// hostKey is the identity of a host: the name as hosts writes it, with
// Docker Hub's names as one (go-containerregistry sends docker.io's
// requests to index.docker.io).
func hostKey(name string) string {
	return dockerconfig.Key(name)
}
