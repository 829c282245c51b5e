// Command ociregistry is a test kit peer: an OCI registry that serves the
// OCI 1.1 referrers API (CUE's ociserver over its in-memory store ocimem),
// which neither distribution v3 nor Debian's docker-registry does. It
// listens on the loopback address given with -addr and writes one access
// log line per request on stderr, in the form distribution writes, so
// that testenv's AccessLog reads both alike.
//
// Everything it holds is lost when it stops.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"cuelabs.dev/go/oci/ociregistry/ocimem"
	"cuelabs.dev/go/oci/ociregistry/ociserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "loopback host:port to listen on")
	flag.Parse()
	h := ociserver.New(ocimem.New(), nil)
	srv := &http.Server{Addr: *addr, Handler: accessLog(h), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// accessLog logs each request when it completes, as
// `"METHOD /path?query HTTP/1.1" status bytes`.
func accessLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		fmt.Fprintf(os.Stderr, "%s - - [%s] \"%s %s %s\" %d %d\n",
			r.RemoteAddr, time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.RequestURI(), r.Proto, sw.status, sw.n)
	})
}
