package credential

import (
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// tempFile writes content to a new file and returns its path.
func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// countingClient is an HTTP client whose requests are counted, so a test
// can tell that every call of a source went through the client it was
// given.
type countingClient struct {
	*http.Client
	n atomic.Int32
}

func newCountingClient(next http.RoundTripper) *countingClient {
	c := &countingClient{}
	if next == nil {
		next = &http.Transport{}
	}
	c.Client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.n.Add(1)
		return next.RoundTrip(r)
	})}
	return c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
