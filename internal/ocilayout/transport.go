package ocilayout

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Route sends the registry requests for some repositories to a Store.
type Route struct {
	// Store answers the requests.
	Store *Store
	// Hosts maps the host a request goes to (host[:port]) to the registry
	// its repositories have in the store: the same host for a destination
	// written to a layout, an alias for a layout read as a source.
	Hosts map[string]string
	// Ping lists the hosts whose /v2/ check the store answers too (hosts
	// that no real registry of the run shares).
	Ping map[string]bool
	// Repositories, when set, limits the route to these repositories
	// (host/path as the store names them); others go to the network.
	Repositories map[string]bool
}

// Transport routes requests to stores; every other request goes to Base.
type Transport struct {
	Routes []Route
	Base   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	for _, rt := range t.Routes {
		if repoName, rest, ok := rt.match(req); ok {
			return serveLocal(rt.Store, req, repoName, rest), nil
		}
	}
	return t.Base.RoundTrip(req)
}

// match says whether req is for the route, and for which repository.
func (rt Route) match(req *http.Request) (repoName, rest string, ok bool) {
	host := req.URL.Host
	registry, ok := rt.Hosts[host]
	if !ok {
		return "", "", false
	}
	p := req.URL.Path
	if p == "/v2/" || p == "/v2" {
		return "", "", rt.Ping[host]
	}
	p, ok = strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", false
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(p, kind); i > 0 {
			repoName = registry + "/" + p[:i]
			if rt.Repositories != nil && !rt.Repositories[repoName] {
				return "", "", false
			}
			return repoName, p[i+1:], true
		}
	}
	return "", "", false
}

// serveLocal runs the store's handler for req and returns its response as
// soon as the status is known; the body streams through a pipe.
func serveLocal(s *Store, req *http.Request, repoName, rest string) *http.Response {
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, req: req, ready: make(chan *http.Response, 1)}
	go func() {
		defer func() {
			w.WriteHeader(http.StatusOK)
			pw.Close()
			if req.Body != nil {
				req.Body.Close()
			}
		}()
		if repoName == "" {
			return // the /v2/ check: 200, no challenge
		}
		s.serve(w, req, repoName, rest)
	}()
	resp := <-w.ready
	resp.Body = pr
	return resp
}

// pipeWriter is an http.ResponseWriter whose body is read from a pipe.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	req    *http.Request
	once   sync.Once
	ready  chan *http.Response
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		resp := &http.Response{
			Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: w.header.Clone(), Request: w.req, ContentLength: -1,
		}
		if n, err := strconv.ParseInt(w.header.Get("Content-Length"), 10, 64); err == nil {
			resp.ContentLength = n
		}
		w.ready <- resp
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}
