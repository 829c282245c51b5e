package sigverify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
	"golang.org/x/net/http/httpproxy"
)

// offlineHint is how every trust root failure says how to do without the
// network.
const offlineHint = "to run offline or against a private Sigstore, set verify.trustedRoot to a trusted_root.json file"

// trust is what one policy verifies against: a Sigstore trust root (nil
// when a key-only policy needs none) and its name for errors.
type trust struct {
	root root.TrustedMaterial
	name string
}

// trustFor picks the policy's root, else the public-good one when the policy
// has keyless identities. A key-only policy never reaches the network: its
// log entries are checked only against verify.trustedRoot.
func (v *Verifier) trustFor(ctx context.Context, p *Policy) (trust, error) {
	if p.TrustedRoot != nil {
		return trust{root: p.TrustedRoot, name: "verify.trustedRoot"}, nil
	}
	if len(p.Identities) == 0 {
		return trust{}, nil
	}
	tm, err := v.publicGoodRoot(ctx)
	if err != nil {
		return trust{}, err
	}
	return trust{root: tm, name: "the Sigstore public-good root"}, nil
}

// publicGoodRoot fetches the public-good trust root once per Verifier, in
// the background so that a caller whose context ends is not the one that
// decides the run's outcome; the result (or error) is kept for the run.
func (v *Verifier) publicGoodRoot(ctx context.Context) (root.TrustedMaterial, error) {
	pg := &v.publicGood
	pg.once.Do(func() {
		go func() {
			defer close(pg.done)
			pg.root, pg.err = v.fetchPublicGood()
		}()
	})
	select {
	case <-pg.done:
		return pg.root, pg.err
	case <-ctx.Done():
		// The caller's budget (sync's per-tag --timeout) may end before
		// the fetch's own: still say how to do without the network.
		return nil, fmt.Errorf("waiting for the Sigstore public-good trust root (TUF): %w; %s", ctx.Err(), offlineHint)
	}
}

// fetchPublicGood runs the TUF client of sigstore-go against the
// public-good repository, bounded by Options.Timeout.
func (v *Verifier) fetchPublicGood() (*root.TrustedRoot, error) {
	ctx := context.Background()
	if v.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, v.opts.Timeout)
		defer cancel()
	}
	opts := tuf.DefaultOptions()
	if v.opts.CacheDir != "" {
		opts.CachePath = v.opts.CacheDir
	}
	if !writableDir(opts.CachePath) {
		opts.DisableLocalCache = true
	}
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPClient(&http.Client{Transport: contextTransport{ctx: ctx, base: proxyTransport()}})
	opts.Fetcher = f
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err == nil {
		return tr, nil
	}
	if ctxErr := ctx.Err(); errors.Is(ctxErr, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w: the Sigstore public-good trust root (TUF %s) did not arrive within %s; %s",
			ErrUnverified, opts.RepositoryBaseURL, v.opts.Timeout, offlineHint)
	}
	return nil, fmt.Errorf("%w: cannot fetch the Sigstore public-good trust root (TUF %s): %w; %s",
		ErrUnverified, opts.RepositoryBaseURL, err, offlineHint)
}

// writableDir reports whether dir exists or can be made, and takes files:
// the TUF cache is an optimisation, never a reason to fail.
func writableDir(dir string) bool {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".flux-mirror-probe-*")
	if err != nil {
		return false
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(filepath.Clean(name))
	return true
}

// proxyTransport is a fresh transport that reads the proxy environment
// when it is built: net/http's own ProxyFromEnvironment reads it once per
// process, which would pin whatever the first request of the process saw.
func proxyTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	t.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
	return t
}

// contextTransport ties every request of the TUF fetcher, which builds
// its requests without a context, to the fetch's deadline.
type contextTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

// RoundTrip sends r under the transport's context.
func (t contextTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}
