package helmrepo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Client reads one chart repository.
type Client struct {
	// URL is the repository's URL as configured, without a trailing slash
	// and with any password in it redacted.
	URL   string
	base  *url.URL
	entry *Entry
	http  *http.Client
}

// NewClient returns a client of the repository at repoURL. entry, when
// not nil, is the repository's entry of Helm's repositories file: its
// username and password go only to repoURL's scheme and host (every port
// counts as another host) unless it sets pass_credentials_all; its
// certificates and insecure_skip_tls_verify shape TLS to every host.
// userAgent names the caller in every request.
func NewClient(repoURL string, entry *Entry, userAgent string) (*Client, error) {
	base, err := url.Parse(strings.TrimSuffix(repoURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("chart repository %q: must be an http:// or https:// URL", repoURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if entry != nil {
		if tr.TLSClientConfig, err = tlsConfig(entry); err != nil {
			return nil, fmt.Errorf("chart repository %s (helm repository %q): %w", base.Redacted(), entry.Name, err)
		}
	}
	// URL names the repository in messages: never with a password in it.
	c := &Client{URL: base.Redacted(), base: base, entry: entry}
	c.http = &http.Client{Transport: &authTransport{base: tr, c: c, userAgent: userAgent}}
	return c, nil
}

// tlsConfig is Helm's TLS for a repository: its CA file alone as the
// roots when given, its client certificate, and no verification when
// insecure_skip_tls_verify says so.
func tlsConfig(e *Entry) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: e.InsecureSkipTLSVerify} //nolint:gosec // the user's explicit choice, as in Helm
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("caFile: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s: no PEM certificate in it", e.CAFile)
		}
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		return nil, errors.New("certFile and keyFile go together: set both or neither")
	}
	if e.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certFile/keyFile: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// authTransport adds the repository's basic auth to requests for the
// repository's own scheme and host, redirects included, so that a
// password never follows a redirect or an absolute chart URL elsewhere.
type authTransport struct {
	base      http.RoundTripper
	c         *Client
	userAgent string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", t.userAgent)
	if e := t.c.entry; e != nil && (e.Username != "" || e.Password != "") && (e.PassCredentialsAll || t.c.sameOrigin(req.URL)) {
		req.SetBasicAuth(e.Username, e.Password)
	}
	return t.base.RoundTrip(req)
}

// sameOrigin says whether u has the repository's scheme and host:port.
func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(hostPort(u), hostPort(c.base))
}

// hostPort is u's host with its port, the scheme's default made explicit.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Hostname() + ":443"
	}
	return u.Hostname() + ":80"
}

// Index reads and decodes the repository's index.yaml.
func (c *Client) Index(ctx context.Context) (*Index, error) {
	u := c.URL + "/index.yaml"
	body, _, err := c.get(ctx, u, MaxIndexSize)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b, err := readAll(body, MaxIndexSize, redact(u))
	if err != nil {
		return nil, err
	}
	return ParseIndex(b, redact(u))
}

// Open starts reading the chart archive at chartURL (as written in the
// index: relative to the repository, or absolute). It returns the body,
// limited to MaxChartSize and to RequestTimeout, and its length when the
// server said it (else -1). The caller closes it.
func (c *Client) Open(ctx context.Context, chartURL string) (io.ReadCloser, int64, error) {
	u, err := c.resolve(chartURL)
	if err != nil {
		return nil, 0, err
	}
	return c.get(ctx, u, MaxChartSize)
}

// resolve makes a chart URL of the index absolute, as Helm does: relative
// to the repository URL taken as a directory.
func (c *Client) resolve(ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("chart URL %q in the index: %w", redact(ref), err)
	}
	if r.IsAbs() {
		return ref, nil
	}
	b := *c.base
	b.Path = strings.TrimSuffix(b.Path, "/") + "/"
	b.RawPath = ""
	res := b.ResolveReference(r)
	res.RawQuery = c.base.RawQuery
	return res.String(), nil
}
