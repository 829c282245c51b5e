package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// chunkedPatch sends the body of go-containerregistry's single streaming
// upload PATCH as a sequence of PATCHes of at most h.chunk bytes, each with
// Content-Range (inclusive) and Content-Length and each to the Location the
// previous one answered. It returns the last response, whose Location
// go-containerregistry then commits with PUT ?digest=.
//
// One chunk buffer per upload is all the memory it holds, whatever the
// blob's size; buffers are reused across uploads.
func (h *host) chunkedPatch(req *http.Request, logf func(string, ...any)) (*http.Response, error) {
	body := req.Body
	if body == nil {
		body = http.NoBody
	}
	defer body.Close()
	bufp := h.buffers.Get().(*[]byte)
	defer h.buffers.Put(bufp)
	buf := *bufp

	loc := req.URL
	var (
		offset int64
		last   *http.Response
		chunks int
	)
	for {
		n, err := io.ReadFull(body, buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			closeResponse(last)
			return nil, fmt.Errorf("host %q: read the blob to upload: %w", h.name, err)
		}
		if n == 0 && last != nil {
			break
		}
		closeResponse(last)
		last = nil
		resp, err := h.sendChunk(req, loc, buf[:n], offset)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
			return h.chunkStatus(resp, offset, n)
		}
		next, err := nextLocation(resp)
		if err != nil {
			// go-containerregistry reports the missing Location.
			return resp, nil
		}
		offset += int64(n)
		chunks++
		last, loc = resp, next
		if n < len(buf) {
			break
		}
	}
	// go-containerregistry resolves Location against the request it sent;
	// make it absolute so that it needs no request of ours.
	last.Header.Set("Location", loc.String())
	logf("host %q: uploaded %d bytes in %d chunks of at most %d bytes", h.name, offset, chunks, len(buf))
	return last, nil
}

// sendChunk sends one chunk of data starting at offset to loc, with the
// headers of the original request.
func (h *host) sendChunk(orig *http.Request, loc *url.URL, data []byte, offset int64) (*http.Response, error) {
	req := orig.Clone(orig.Context())
	req.URL, req.Host = loc, ""
	if !sameOrigin(orig, req) {
		// An upload moved to another host: the registry's credential
		// stays with the registry.
		req.Header.Del("Authorization")
	}
	req.ContentLength = int64(len(data))
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	if len(data) > 0 {
		// An empty blob is one PATCH without a range: start-end cannot
		// name zero bytes.
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", offset, offset+int64(len(data))-1))
	}
	resp, err := h.transport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// chunkStatus explains a refused chunk. Statuses it has nothing to add to
// go back to go-containerregistry, which reports the registry's error.
func (h *host) chunkStatus(resp *http.Response, offset int64, n int) (*http.Response, error) {
	switch resp.StatusCode {
	case http.StatusRequestedRangeNotSatisfiable:
		closeResponse(resp)
		return nil, fmt.Errorf("host %q: the registry refused upload bytes %d-%d as out of order (416 Range Not Satisfiable): "+
			"the upload session no longer matches what was sent; the copy can be retried", h.name, offset, offset+int64(n)-1)
	case http.StatusRequestEntityTooLarge:
		closeResponse(resp)
		return nil, fmt.Errorf("host %q: the registry, or a proxy in front of it, refused an upload chunk of %d bytes as too large "+
			"(413 Request Entity Too Large): lower hosts[].maxChunkSize for %q below its limit", h.name, n, h.name)
	}
	return resp, nil
}

// nextLocation resolves the Location of an upload response against the
// request that got it.
func nextLocation(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, errors.New("missing Location header")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return resp.Request.URL.ResolveReference(u), nil
}

// closeResponse drains and closes resp's body so that its connection can be
// reused; resp may be nil.
func closeResponse(resp *http.Response) {
	if resp == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
