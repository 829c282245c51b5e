package mirror

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// SignatureCheck verifies the signature of digest d, in the entry's
// source repository, before the engine copies it. It reads through opts
// (the run's clients, so that the source's credentials and transport
// apply; the check reads under ctx). sigTag says whether the source's tag list holds cosign's
// sha256-<hex>.sig tag of d. An error it marks with Refused is final; any
// other is retried like a failed request.
type SignatureCheck func(ctx context.Context, d name.Digest, sigTag bool, opts ...remote.Option) (*Verification, error)

// Verification is the signature that allowed a tag to be copied.
type Verification struct {
	Provider string
	// Issuer and Identity are the signing certificate's (empty for a
	// key).
	Issuer, Identity string
	// IntegratedTime is when the transparency log recorded the signature
	// (zero: no log entry).
	IntegratedTime time.Time
	// Age is how old the signature was when checked; MinAge is the
	// entry's minimum (0: none).
	Age, MinAge time.Duration
	// TooNew says the signature verified but is younger than MinAge: the
	// tag is skipped.
	TooNew bool
}

// Refused marks a verification failure that another attempt cannot
// change (no signature, one that does not verify).
func Refused(err error) error { return &permanentError{err: err} }

// verificationError is a tag's failed verification: it fails the tag and
// stops the entry from starting its remaining tags.
type verificationError struct{ err error }

func (v *verificationError) Error() string { return v.err.Error() }
func (v *verificationError) Unwrap() error { return v.err }

// verify checks the signature of the source tag's digest d for an entry
// that verifies; nil, nil for one that does not.
func (m *Mirror) verify(ctx context.Context, e Entry, src name.Repository, d v1.Hash) (*Verification, error) {
	if e.Verify == nil {
		return nil, nil
	}
	sigTag := e.sourceTags == nil || e.sourceTags[cosignTag(d, ".sig")]
	v, err := e.Verify(ctx, digestRef(src, d), sigTag, remote.Reuse(m.puller))
	if err != nil {
		// The check's errors name the digest themselves.
		return nil, &verificationError{err: fmt.Errorf("signature check: %w", err)}
	}
	return v, nil
}

// halt is an entry's stop after a failed verification: tags not yet
// started are not planned.
type halt struct{ err atomic.Pointer[error] }

// note stops the entry when res failed its verification: a signature
// refused, or one that could not be checked (the registry failing every
// attempt), which is no more reason to trust the source.
func (h *halt) note(tag string, res TagResult) {
	var ve *verificationError
	if h == nil || !errors.As(res.Err, &ve) {
		return
	}
	why := "did not verify"
	var p *permanentError
	if !errors.As(ve.err, &p) {
		why = "could not be checked"
	}
	err := fmt.Errorf("not planned: the signature of tag %s %s, so the entry stopped", tag, why)
	h.err.CompareAndSwap(nil, &err)
}

// stopped returns why the entry stopped, or nil.
func (h *halt) stopped() error {
	if h == nil {
		return nil
	}
	if p := h.err.Load(); p != nil {
		return *p
	}
	return nil
}
