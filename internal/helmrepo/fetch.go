package helmrepo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// StatusError is a chart repository's answer other than 200.
type StatusError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %s", e.URL, e.Status)
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += " (check the username and password of this repository in Helm's repositories file, $HELM_REPOSITORY_CONFIG)"
	}
	return msg
}

// Permanent says whether another attempt cannot change the answer.
func (e *StatusError) Permanent() bool {
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

// get sends GET u and returns the body of a 200 answer, at most limit
// bytes of it, closed when RequestTimeout ends.
func (c *Client) get(ctx context.Context, u string, limit int64) (io.ReadCloser, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, 0, fmt.Errorf("GET %s: %w", redact(u), err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, 0, err // net/http's error quotes the URL with its password stripped
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, 0, &StatusError{URL: redact(u), StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		cancel()
		return nil, 0, fmt.Errorf("GET %s: %d bytes, over the limit of %d MiB", redact(u), resp.ContentLength, limit>>20)
	}
	return &body{ReadCloser: resp.Body, left: limit, url: redact(u), cancel: cancel}, resp.ContentLength, nil
}

// body is a response body that fails past its limit and ends its
// request's timeout when closed.
type body struct {
	io.ReadCloser
	left   int64
	url    string
	cancel context.CancelFunc
}

func (b *body) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("GET %s: larger than the limit", b.url)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// readAll reads r whole, refusing more than limit bytes; name says what
// is read in the error.
func readAll(r io.Reader, limit int64, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB", name, limit>>20)
	}
	return b, nil
}

// redact removes user info (a password) from a URL for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
