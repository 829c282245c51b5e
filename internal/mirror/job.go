package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// firstBackoff is the wait before the second attempt; it doubles after.
const firstBackoff = 200 * time.Millisecond

// runJob compares one tag at both ends and copies it when the decision
// table says so, under the job's budget and retry policy.
func (m *Mirror) runJob(ctx context.Context, index int, e Entry, src, dst name.Repository, tag string) TagResult {
	return m.job(ctx, index, e, tag, func(ctx context.Context) (TagResult, error) {
		return m.decide(ctx, e, src.Tag(tag), dst.Tag(tag))
	})
}

// job runs decide, one tag's decision and copy, under the job's budget and
// retry policy, and reports it.
func (m *Mirror) job(ctx context.Context, index int, e Entry, tag string, decide func(context.Context) (TagResult, error)) TagResult {
	start := time.Now()
	m.emit(Event{Kind: JobStarted, Entry: index, Source: e.Source, Destination: e.Destination, Tag: tag})
	var res TagResult
	attempts, err := m.attempt(ctx, func(ctx context.Context) error {
		var err error
		res, err = decide(ctx)
		return err
	}, func(n int, wait time.Duration, err error) {
		m.emit(Event{Kind: Retrying, Entry: index, Source: e.Source, Tag: tag, Attempt: n, Wait: wait, Err: err})
	})
	res.Tag, res.Attempts = tag, attempts
	if err != nil {
		res.Status, res.Reason, res.Err = StatusFailed, "", err
	}
	res.Duration = time.Now().Sub(start)
	if res.Status == StatusDrifted {
		m.emit(Event{Kind: Drift, Entry: index, Source: e.Source, Destination: e.Destination, Tag: tag, Result: &res})
	}
	m.emitReferrerDrift(index, e, res.Referrers)
	m.emit(Event{Kind: JobFinished, Entry: index, Source: e.Source, Destination: e.Destination, Tag: tag, Elapsed: res.Duration, Result: &res})
	return res
}

// decide applies the decision table to one tag: only a 404 at the
// destination means missing; any other error fails the job.
func (m *Mirror) decide(ctx context.Context, e Entry, src, dst name.Tag) (TagResult, error) {
	// The two ends are independent: ask both at once, since a warm run is
	// nothing but these round trips.
	type head struct {
		d   *v1.Descriptor
		err error
	}
	dch := make(chan head, 1)
	go func() {
		d, err := m.puller.Head(ctx, dst)
		dch <- head{d, err}
	}()
	sd, err := m.puller.Head(ctx, src)
	err = fromSource(err)
	dh := <-dch
	if err != nil {
		return TagResult{}, fmt.Errorf("read source %s: %w%s", src, err, hint(err, src.RegistryStr()))
	}
	res := TagResult{Digest: sd.Digest.String()}
	dd, err := dh.d, dh.err
	missing := isStatus(err, http.StatusNotFound)
	if err != nil && !missing {
		return res, fmt.Errorf("read destination %s: %w%s", dst, err, hint(err, dst.RegistryStr()))
	}
	// With platforms, the digest to hold is perhaps a new index's.
	sel, err := m.selectPlatforms(ctx, e, src.Context(), sd)
	if err != nil {
		return res, err
	}
	if sel.filtered {
		res.SourceDigest, res.Digest = res.Digest, sel.digest.String()
	}
	switch {
	case !missing && dd.Digest == sel.digest:
		// Up to date, but a signature may have been added since.
		res.Status, res.Reason = StatusSkipped, ReasonUpToDate
		return res, m.selectionReferrers(ctx, e, src.Context(), dst.Context(), sel, &res)
	case !missing:
		res.DestinationDigest = dd.Digest.String()
		if !e.Overwrite {
			res.Status = StatusDrifted
			return res, nil
		}
	}
	// A copy is due: the source's signature first, dry runs included.
	if res.Verification, err = m.verify(ctx, e, src.Context(), sd.Digest); err != nil {
		return res, err
	}
	if res.Verification != nil && res.Verification.TooNew {
		res.Status, res.Reason = StatusSkipped, ReasonSignatureTooNew
		return res, nil
	}
	if m.opts.DryRun {
		res.Status = StatusWouldCopy
		if !missing {
			res.Status = StatusWouldOverwrite
		}
		return res, m.selectionReferrers(ctx, e, src.Context(), dst.Context(), sel, &res)
	}
	if err := m.copySelection(ctx, e, src, dst, sel, &res); err != nil {
		return res, err
	}
	res.Status = StatusCopied
	if !missing {
		res.Status = StatusOverwritten
	}
	return res, nil
}

// attempt runs f under the job budget (Timeout, all attempts included)
// with up to Retries more attempts after 200ms, 400ms, 800ms... of backoff,
// or the server's Retry-After when it gave one and the budget allows. It
// returns how many attempts ran. f marks what cannot heal (fromSource,
// permanent).
func (m *Mirror) attempt(ctx context.Context, f func(context.Context) error, retrying func(n int, wait time.Duration, err error)) (int, error) {
	jctx, cancel := ctx, context.CancelFunc(func() {})
	if m.opts.Timeout > 0 {
		jctx, cancel = context.WithTimeout(ctx, m.opts.Timeout)
	}
	defer cancel()
	for n := 1; ; n++ {
		actx, ra := withRetryAfter(jctx)
		err := f(actx)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return n, fmt.Errorf("%w: %w", errInterrupted, context.Cause(ctx))
		}
		if jctx.Err() != nil {
			return n, fmt.Errorf("timed out after %s (--timeout): %w", m.opts.Timeout, err)
		}
		if n > m.opts.Retries || !retryable(err) {
			return n, err
		}
		wait := firstBackoff << (n - 1)
		if d := ra.get(); d > 0 {
			if dl, ok := jctx.Deadline(); ok && time.Until(dl) < d {
				return n, fmt.Errorf("server asked to retry after %s, beyond the job's remaining time (--timeout): %w", d, err)
			}
			wait = d
		}
		retrying(n+1, wait, err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-jctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return n, fmt.Errorf("%w: %w", errInterrupted, context.Cause(ctx))
			}
			return n, fmt.Errorf("timed out after %s (--timeout) waiting to retry: %w", m.opts.Timeout, err)
		}
	}
}

// retryable says whether another attempt may heal err: not a refusal
// (400, 401, 403, 405), not a 404 of the source, not an invalid manifest.
func retryable(err error) bool {
	var p *permanentError
	if errors.As(err, &p) {
		return false
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return true // the network: connection reset, EOF, a dropped stream
	}
	switch te.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusMethodNotAllowed:
		return false
	}
	return true
}

// permanentError is a failure another attempt cannot change (a manifest
// that does not parse, a media type the engine cannot copy).
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// fromSource marks a 404 of the source as permanent: the tag, manifest or
// blob is gone there, and another attempt will not bring it back. (A 404
// of the destination, such as an expired upload session, may heal; the
// caller knows which side it read, the error's host does not when both
// are one registry.)
func fromSource(err error) error {
	if isStatus(err, http.StatusNotFound) {
		return &permanentError{err: err}
	}
	return err
}

func permanent(format string, args ...any) error {
	return &permanentError{err: fmt.Errorf(format, args...)}
}

// hint says how to fix a refusal by host.
func hint(err error, host string) string {
	if isStatus(err, http.StatusUnauthorized) || isStatus(err, http.StatusForbidden) {
		return fmt.Sprintf(" (check the credentials for %s: its hosts entry or the Docker config)", host)
	}
	return ""
}

// isStatus says whether err is a registry answer with HTTP status code.
func isStatus(err error, code int) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == code
}

// digestRef names digest d in repository r.
func digestRef(r name.Repository, d v1.Hash) name.Digest { return r.Digest(d.String()) }
