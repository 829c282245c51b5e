package mirror

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// retryAfterKey carries a job attempt's *retryAfter in request contexts.
type retryAfterKey struct{}

// retryAfter holds the longest Retry-After a 429 or 503 answered during one
// attempt: go-containerregistry's errors keep the status but not the
// headers, so the transport notes it here for the job's retry loop.
type retryAfter struct{ d atomic.Int64 }

func (r *retryAfter) note(d time.Duration) {
	for {
		old := r.d.Load()
		if int64(d) <= old || r.d.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

func (r *retryAfter) get() time.Duration { return time.Duration(r.d.Load()) }

func withRetryAfter(ctx context.Context) (context.Context, *retryAfter) {
	ra := &retryAfter{}
	return context.WithValue(ctx, retryAfterKey{}, ra), ra
}

// retryAfterTransport notes the Retry-After of 429 and 503 answers.
type retryAfterTransport struct{ base http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return resp, err
	}
	if ra, ok := req.Context().Value(retryAfterKey{}).(*retryAfter); ok {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			ra.note(d)
		}
	}
	return resp, nil
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
