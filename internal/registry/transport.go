package registry

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// roundTripper sends each registry request through its host's transport:
// it stamps a bearer token on requests to hosts that have one, splits blob
// uploads to hosts with maxChunkSize, and keeps credentials on their host.
type roundTripper struct {
	r *Registries
}

// RoundTrip implements http.RoundTripper. It never modifies req; requests
// it changes are clones.
func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = dropRedirectedAuth(req)
	h := rt.r.lookup(req.URL.Host)
	switch {
	case h == nil:
		resp, err := rt.r.fallback.RoundTrip(req)
		return tooLarge(req, req.URL.Host, resp, err)
	case h.stamped:
		return rt.stamped(h, req)
	}
	return rt.send(h, req)
}

// send sends req through h's transport, in chunks when it is a blob upload
// to a host with maxChunkSize.
func (rt *roundTripper) send(h *host, req *http.Request) (*http.Response, error) {
	if h.chunk > 0 && req.Method == http.MethodPatch && isUpload(req) {
		return h.chunkedPatch(req, rt.r.logf)
	}
	resp, err := h.transport.RoundTrip(req)
	return tooLarge(req, h.name, resp, err)
}

// stamped sends req with the host's bearer token. A token refused with 401
// is minted again once, and the request repeated if its body can be: a
// token rotated on disk, or revoked, before its known expiry (or one whose
// expiry cannot be known) takes effect at the first refusal.
func (rt *roundTripper) stamped(h *host, req *http.Request) (*http.Response, error) {
	c, err := h.minter.get(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err // names the host, never the token
	}
	resp, err := rt.send(h, withBearer(req, c.Token))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if replay, ok := replayable(req); ok {
		if fresh, err := h.minter.renew(req.Context(), c); err == nil && fresh.Token != c.Token {
			closeResponse(resp)
			if resp, err = rt.send(h, withBearer(replay, fresh.Token)); err != nil || resp.StatusCode != http.StatusUnauthorized {
				return resp, err
			}
		}
	}
	return nil, refusedToken(h.name, resp)
}

// withBearer returns a clone of req carrying token.
func withBearer(req *http.Request, token string) *http.Request {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// replayable returns a copy of req with a fresh body, if it can be sent
// again.
func replayable(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	replay := req.Clone(req.Context())
	replay.Body = body
	return replay, true
}

// refusedToken explains a 401 to a request that carried the host's bearer
// token. go-containerregistry would take it for a challenge and try an
// anonymous token exchange, whose failure says nothing about the token.
// The registry's own error stays in the chain as a *transport.Error, for
// callers that tell an authorization failure from a transient one.
func refusedToken(name string, resp *http.Response) error {
	defer resp.Body.Close()
	return fmt.Errorf("host %q: the registry refused the bearer token of its hosts entry (401 Unauthorized): "+
		"check that the token is valid for this registry and grants access to the repository: %w",
		name, transport.CheckError(resp, http.StatusOK))
}

// dropRedirectedAuth removes the Authorization header from a request that
// follows a redirect to another host or port when it is the header the
// previous hop carried. Go's client forwards headers to the same name on
// another port; a registry's credential must not reach a storage service
// or CDN it redirects to. A header set for the new host (the token of the
// new host's own challenge) is kept.
func dropRedirectedAuth(req *http.Request) *http.Request {
	auth := req.Header.Get("Authorization")
	if auth == "" || req.Response == nil || req.Response.Request == nil {
		return req
	}
	prev := req.Response.Request
	if sameOrigin(prev, req) || prev.Header.Get("Authorization") != auth {
		return req
	}
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	return req
}

// sameOrigin tells whether two requests go to the same host and port.
func sameOrigin(a, b *http.Request) bool {
	return canonicalHost(a) == canonicalHost(b)
}

// canonicalHost is the request's host:port, with the scheme's port when
// the URL has none.
func canonicalHost(req *http.Request) string {
	port := req.URL.Port()
	if port == "" {
		port = "443"
		if req.URL.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(req.URL.Hostname()), port)
}

// isUpload tells whether req belongs to a blob upload session.
func isUpload(req *http.Request) bool {
	return strings.Contains(req.URL.Path, "/blobs/uploads/")
}

// tooLarge turns a registry's or proxy's 413 to a blob upload into an
// error that says which setting fixes it; go-containerregistry would report
// only the status and the proxy's HTML page. name is the host as hosts
// names it.
func tooLarge(req *http.Request, name string, resp *http.Response, err error) (*http.Response, error) {
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || !isUpload(req) {
		return resp, err
	}
	_ = resp.Body.Close()
	size := "a blob"
	if req.ContentLength > 0 {
		size = fmt.Sprintf("a blob of %d bytes", req.ContentLength)
	}
	return nil, fmt.Errorf("host %q: the registry, or a proxy in front of it, refused an upload of %s as too large "+
		"(413 Request Entity Too Large): set hosts[].maxChunkSize (KiB) for %q to send blobs in chunks below its limit",
		name, size, name)
}
