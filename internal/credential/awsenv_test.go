package credential

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// isolateAWS gives the test an AWS environment of its own: every AWS_
// variable of the machine unset (AWS_CA_BUNDLE included, which this
// machine presets), HOME and the shared config and credentials files
// pointing at an empty directory, and the instance metadata service off.
// Everything is restored when the test ends.
func isolateAWS(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			unsetenv(t, name)
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// unsetenv removes name from the environment until the test ends.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // registers the restore of the old value
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

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
