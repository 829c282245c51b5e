package mirror

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"Mon, 30 Nov 2026 07:00:05 GMT", 5 * time.Second, true},
		{"Mon, 30 Nov 2026 06:59:00 GMT", 0, true}, // in the past: now
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, ok := parseRetryAfter(c.in, now)
			if got != c.want || ok != c.ok {
				t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	const src = "src.example:5000"
	answer := func(code int, host string) error {
		return fmt.Errorf("wrapped: %w", &transport.Error{StatusCode: code,
			Request: &http.Request{URL: &url.URL{Host: host}}})
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"400", answer(400, "dst"), false},
		{"401", answer(401, "dst"), false},
		{"403", answer(403, src), false},
		{"404 on the source", fromSource(answer(404, src)), false},
		{"404 on the destination (an upload session)", answer(404, "dst"), true},
		{"404 on the destination, one registry with the source", answer(404, src), true},
		{"429", answer(429, "dst"), true},
		{"500", answer(500, src), true},
		{"503", answer(503, "dst"), true},
		{"invalid manifest", permanent("invalid manifest"), false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := retryable(c.err); got != c.want {
				t.Errorf("retryable = %v, want %v", got, c.want)
			}
		})
	}
}

// TestAttempt checks the policy's counting and waiting with a function
// that fails as told, in real time: backoff 200ms, 400ms...; Retry-After
// replaces the backoff when the budget allows and ends the job when not.
func TestAttempt(t *testing.T) {
	unavailable := &transport.Error{StatusCode: 503}
	cases := []struct {
		name         string
		retries      int
		timeout      time.Duration
		retryAfter   time.Duration
		failures     int
		wantAttempts int
		wantErr      string
		wantWaits    []time.Duration
	}{
		{name: "success first", retries: 3, wantAttempts: 1},
		{name: "heals on the third", retries: 3, failures: 2, wantAttempts: 3, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "out of retries", retries: 1, failures: 5, wantAttempts: 2, wantErr: "503", wantWaits: []time.Duration{200 * time.Millisecond}},
		{name: "retry-after honoured", retries: 2, timeout: time.Minute, retryAfter: time.Second, failures: 1, wantAttempts: 2, wantWaits: []time.Duration{time.Second}},
		{name: "the budget ends the retries", retries: 10, timeout: 500 * time.Millisecond, failures: 100, wantAttempts: 2, wantErr: "timed out after 500ms (--timeout) waiting to retry", wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "retry-after beyond budget", retries: 2, timeout: 2 * time.Second, retryAfter: time.Hour, failures: 1, wantAttempts: 1, wantErr: "beyond the job's remaining time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &Mirror{opts: Options{Retries: c.retries, Timeout: c.timeout}}
			calls := 0
			var waits []time.Duration
			n, err := m.attempt(context.Background(), func(ctx context.Context) error {
				calls++
				if calls > c.failures {
					return nil
				}
				if c.retryAfter > 0 {
					ctx.Value(retryAfterKey{}).(*retryAfter).note(c.retryAfter)
				}
				return unavailable
			}, func(_ int, wait time.Duration, _ error) { waits = append(waits, wait) })
			if n != c.wantAttempts {
				t.Errorf("%d attempts, want %d", n, c.wantAttempts)
			}
			if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
			if fmt.Sprint(waits) != fmt.Sprint(c.wantWaits) {
				t.Errorf("waits %v, want %v", waits, c.wantWaits)
			}
		})
	}
}
