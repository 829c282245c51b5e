package credential

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// token is what a token source yields: the secret and, when it can be
// known, when it expires.
type token struct {
	value     string
	expiresAt time.Time
}

// Options are what the caller provides to every source.
type Options struct {
	// HTTPClient makes the network calls of the provider sources (cloud
	// SDKs, token endpoints, registry exchanges). Nil means a client with
	// Go's default transport, which honours the proxy and SSL_CERT_FILE
	// environment. Tests inject a dialer through it.
	HTTPClient *http.Client
}

// httpClient returns o.HTTPClient or the default client.
func (o Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return http.DefaultClient
}

// sourceGrace is how long a source may take to report its own error after
// the deadline passed.
const sourceGrace = 100 * time.Millisecond

// tokenRequest is what a token source is given.
type tokenRequest struct {
	// http makes the source's network calls.
	http *http.Client
	// root is the directory relative paths are confined to.
	root string
	// host is the config's host.
	host string
	// cred is the host's credential block.
	cred config.Source
	// audiences are the token's audiences (cred.Audiences, which the
	// config defaults to the host); aud is the first, for the sources
	// that take one.
	audiences []string
	aud       string
}

// tokenSource mints the token of one credential block. Its errors name the
// config field they come from and never include a secret.
type tokenSource func(ctx context.Context, req tokenRequest) (token, error)

// registryRequest is what a registry source is given.
type registryRequest struct {
	// host is the config's host.
	host string
	// http makes the source's network calls.
	http *http.Client
}

// registrySource mints the registry's native username and password for a
// host that names a registry provider (ecr, acr, gar).
type registrySource func(ctx context.Context, req registryRequest) (Credential, error)

// resolver holds the provider tables. Each provider is one file that adds
// one line here; a name the config accepts but the table lacks is reported
// as not supported yet. Tests build their own resolver to add fakes.
type resolver struct {
	opts Options
	// tokenProviders maps hosts[].credential.provider to its source.
	tokenProviders map[string]tokenSource
	// registryProviders maps hosts[].provider to its source.
	registryProviders map[string]registrySource
}

// newResolver returns a resolver with the built-in providers. Each is one
// file of this package; its SDK is set up only when a host uses it.
func newResolver(opts Options) resolver {
	return resolver{
		opts: opts,
		tokenProviders: map[string]tokenSource{
			config.SourceGitHub:  fromActions,
			config.SourceForgejo: fromActions,
			config.SourceGCP:     fromGCP,
			config.SourceAzure:   fromAzure,
			config.SourceAWS:     fromAWS,
			config.SourceSPIFFE:  fromJWTSVID,
		},
		registryProviders: map[string]registrySource{
			config.ProviderECR: fromECR,
			config.ProviderACR: fromACR,
			config.ProviderGAR: fromGAR,
		},
	}
}

// Resolve mints the credential of one host, which must have a credential
// or a provider. root is the directory that the host's relative paths are
// confined to (the config file's directory).
//
// The host is expected to have passed config validation; Resolve still
// reports content errors, such as an unreadable file or a bad key. Its
// errors start with the host and never include a secret. If ctx is done
// before or while the host resolves, Resolve returns at once with ctx's
// error; a source that ignores ctx finishes in the background and its
// result is dropped.
func Resolve(ctx context.Context, root string, h config.Host, opts Options) (Credential, error) {
	return newResolver(opts).resolve(ctx, root, h)
}

// ResolveAll resolves every host concurrently, as Resolve does, and returns
// the credentials in the order of hosts. It is all or nothing: if any host
// fails it returns no credentials and an error joining every failure, in
// the order of hosts. Every host must have a credential or a provider;
// hosts with only tls or maxChunkSize are an error, and nothing is resolved.
func ResolveAll(ctx context.Context, root string, hosts []config.Host, opts Options) ([]Credential, error) {
	return newResolver(opts).resolveAll(ctx, root, hosts)
}

func (r resolver) resolveAll(ctx context.Context, root string, hosts []config.Host) ([]Credential, error) {
	var missing []error
	for _, h := range hosts {
		if !resolvable(h) {
			missing = append(missing, errNothingToResolve(h.Host))
		}
	}
	if len(missing) > 0 {
		return nil, errors.Join(missing...)
	}
	creds := make([]Credential, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { creds[i], errs[i] = r.resolve(ctx, root, h) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return creds, nil
}

func (r resolver) resolve(ctx context.Context, root string, h config.Host) (Credential, error) {
	if !resolvable(h) {
		return Credential{}, errNothingToResolve(h.Host)
	}
	if err := ctx.Err(); err != nil {
		return Credential{}, fmt.Errorf("host %q: %w", h.Host, err)
	}
	type result struct {
		cred Credential
		err  error
	}
	// Buffered, so that a source still running when ctx ends can deliver
	// its result to nobody and exit.
	done := make(chan result, 1)
	go func() {
		c, err := r.mint(ctx, root, h)
		done <- result{c, err}
	}()
	select {
	case res := <-done:
		if res.err == nil {
			res.err = checkContent(h, res.cred)
		}
		if res.err != nil {
			return Credential{}, fmt.Errorf("host %q: %w", h.Host, res.err)
		}
		res.cred.Host = h.Host
		return res.cred, nil
	case <-ctx.Done():
		// A source that honours ctx returns at once with an error naming
		// the endpoint that hung; give it a moment to say so.
		select {
		case res := <-done:
			if res.err != nil {
				return Credential{}, fmt.Errorf("host %q: %w", h.Host, res.err)
			}
		case <-time.After(sourceGrace):
		}
		return Credential{}, fmt.Errorf("host %q: %w", h.Host, ctx.Err())
	}
}

// mint runs the source the host names.
func (r resolver) mint(ctx context.Context, root string, h config.Host) (Credential, error) {
	if h.Provider != "" {
		src, ok := r.registryProviders[h.Provider]
		if !ok {
			return Credential{}, fmt.Errorf("provider %q is not supported yet", h.Provider)
		}
		return src(ctx, registryRequest{host: h.Host, http: r.opts.httpClient()})
	}
	src, err := r.tokenSource(h.Credential)
	if err != nil {
		return Credential{}, err
	}
	req := tokenRequest{http: r.opts.httpClient(), root: root, host: h.Host, cred: *h.Credential, audiences: []string{h.Host}}
	if a := h.Credential.Audiences; len(a) > 0 && a[0] != "" {
		req.audiences = a
	}
	req.aud = req.audiences[0]
	tok, err := src(ctx, req)
	if err != nil {
		return Credential{}, err
	}
	if tok.expiresAt.IsZero() {
		// A token issued elsewhere (a projected ServiceAccount token, a
		// CI token in a variable) still tells its expiry if it is a JWT;
		// read before the envelope, which may hide it.
		tok.expiresAt = JWTExpiry(tok.value)
	}
	if e := h.Credential.Envelope; e != "" {
		env, err := config.ParseEnvelope(e)
		if err == nil {
			tok.value, err = env.Apply(tok.value)
		}
		if err != nil {
			return Credential{}, fmt.Errorf("credential.envelope: %w", err)
		}
	}
	c := Credential{ExpiresAt: tok.expiresAt}
	if u := h.Credential.Username; u != "" {
		c.Username, c.Password = u, tok.value
	} else {
		c.Token = tok.value
	}
	return c, nil
}

// tokenSource picks the source of a credential block by the field it sets.
func (r resolver) tokenSource(c *config.Source) (tokenSource, error) {
	switch {
	case c.Value != nil:
		return fromValue, nil
	case c.FromPath != "":
		return fromFile, nil
	case c.JWKPath != "":
		return fromJWKPath, nil
	case c.JWKValue != nil:
		return fromJWKValue, nil
	case c.Provider != "":
		src, ok := r.tokenProviders[c.Provider]
		if !ok {
			return nil, fmt.Errorf("credential.provider %q is not supported yet", c.Provider)
		}
		return src, nil
	}
	return nil, fmt.Errorf("credential sets no source; want one of %s", strings.Join(config.SourceFields, ", "))
}

// resolvable tells whether a host has anything to resolve.
func resolvable(h config.Host) bool {
	return h.Provider != "" || h.Credential != nil
}

func errNothingToResolve(host string) error {
	return fmt.Errorf("host %q: has no credential or provider to resolve (tls and maxChunkSize alone carry none)", host)
}
