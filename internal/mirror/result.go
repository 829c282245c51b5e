package mirror

import (
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/selector"
)

// Tag statuses and reasons, the report's words.
const (
	StatusCopied         = v1beta2.StatusCopied
	StatusOverwritten    = v1beta2.StatusOverwritten
	StatusSkipped        = v1beta2.StatusSkipped
	StatusDrifted        = v1beta2.StatusDrifted
	StatusWouldCopy      = v1beta2.StatusWouldCopy
	StatusWouldOverwrite = v1beta2.StatusWouldOverwrite
	StatusFailed         = v1beta2.StatusFailed
	ReasonUpToDate       = v1beta2.ReasonUpToDate
	// ReasonSignatureTooNew: the tag's signature verified but is younger
	// than the entry's minimum age, so the tag was not copied.
	ReasonSignatureTooNew = v1beta2.ReasonSignatureTooNew
)

// EntryResult is what happened to one entry.
type EntryResult struct {
	Source, Destination string
	// Err is set when the plan failed; Tags is then empty.
	Err error
	// Tags are the selected tags' results, in plan order (highest first).
	Tags []TagResult
	// Excluded are the listed tags the selector dropped, with the reason.
	Excluded []selector.Exclusion
	Duration time.Duration
}

// TagResult is what happened to one tag.
type TagResult struct {
	Tag    string
	Status string
	// Digest is the source tag's digest, when it was read; with
	// platforms that made a new index, that index's digest (the one the
	// destination tag holds).
	Digest string
	// SourceDigest is the source tag's own digest when platforms made a
	// new index (Digest is then the new index's); empty otherwise.
	SourceDigest string
	// DestinationTag is the tag written at the destination when it is
	// not Tag (a chart version with '+' in it).
	DestinationTag string
	// DestinationDigest is the other digest the destination tag held
	// (drifted, overwritten, would-overwrite).
	DestinationDigest string
	// Reason qualifies skipped.
	Reason string
	// Err is set with StatusFailed.
	Err      error
	Attempts int
	Duration time.Duration
	// Referrers are the rows of the digest's referrers and cosign tags,
	// when the entry includes referrers (nil otherwise, and for a tag
	// that drifted: its referrers are not the destination's business).
	// For a new index made by platforms, they are the rows of its
	// children's referrers, child after child.
	Referrers []ReferrerResult
	// Verification is the signature checked before the tag was copied (or
	// skipped as too new), when the entry verifies; nil for a tag that
	// needed no copy.
	Verification *Verification
}

// ReferrerResult is what happened to one referrer of a tag's digest: an
// OCI referrer (Tag empty) or one of cosign's sha256-<hex>.sig, .att and
// .sbom tags (Tag set).
type ReferrerResult struct {
	// Digest is the referrer manifest's digest at the source.
	Digest string
	// ArtifactType is the OCI referrer's artifact type (empty for cosign
	// tags, whose manifests carry none).
	ArtifactType string
	// Tag names a cosign tag; empty for an OCI referrer.
	Tag    string
	Status string
	// Reason qualifies skipped.
	Reason string
	// DestinationDigest is the other digest a cosign tag held at the
	// destination (drifted, overwritten, would-overwrite).
	DestinationDigest string
	// Err is set with StatusFailed.
	Err error
}

// EventKind says what an Event reports.
type EventKind int

// The events of a run.
const (
	// EntryStarted: an entry's plan begins.
	EntryStarted EventKind = iota
	// EntryPlanned: Tags were selected, Excluded were not.
	EntryPlanned
	// EntryFinished: the entry is done (Err is a failed plan); EntryResult
	// holds its results.
	EntryFinished
	// JobStarted: a tag's job begins.
	JobStarted
	// Retrying: an attempt failed with Err; the next, number Attempt,
	// starts after Wait.
	Retrying
	// Drift: the destination tag holds another digest and will not be
	// overwritten; Result carries both digests.
	Drift
	// JobFinished: Result is the tag's outcome.
	JobFinished
)

// Event is one thing that happened during a run.
type Event struct {
	Kind        EventKind
	Entry       int // index of the entry in Run's slice
	Source      string
	Destination string
	Tag         string
	Tags        []string
	Excluded    []selector.Exclusion
	Attempt     int
	Wait        time.Duration
	Elapsed     time.Duration
	Err         error
	Result      *TagResult
	// EntryResult is the finished entry, with EntryFinished.
	EntryResult *EntryResult
}
