package mirror

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// cosignSuffixes are the tags cosign writes next to a digest, as
// <algorithm>-<hex><suffix>: signatures, attestations, SBOMs.
var cosignSuffixes = []string{".sig", ".att", ".sbom"}

// cosignTag is the tag cosign writes next to digest d: sha256-<hex> and
// the suffix.
func cosignTag(d v1.Hash, suffix string) string {
	return d.Algorithm + "-" + d.Hex + suffix
}

// cosignTagSet returns the source tags that are cosign tags, for an entry
// that includes referrers or verifies signatures (nil otherwise): the
// plan's tag list already says which exist, so a digest without them costs
// no request.
func cosignTagSet(e Entry, tags []string) map[string]bool {
	if !e.IncludeReferrers && e.Verify == nil {
		return nil
	}
	set := map[string]bool{}
	for _, t := range tags {
		for _, s := range cosignSuffixes {
			if strings.HasSuffix(t, s) {
				set[t] = true
			}
		}
	}
	return set
}

// copyTag copies the image with digest d from the source tag to the
// destination tag. With referrers, the image goes in by digest first, then
// its referrers, and the tag last, so that the tag never names an image
// whose referrers did not all arrive.
func (m *Mirror) copyTag(ctx context.Context, e Entry, src, dst name.Tag, d v1.Hash, known *rawManifest, res *TagResult) error {
	if !e.IncludeReferrers {
		return m.copyImage(ctx, src.Context(), dst.Context(), d, known, dst)
	}
	mf, err := m.copyContent(ctx, src.Context(), dst.Context(), d, known)
	if err != nil {
		return err
	}
	if err := m.putManifest(ctx, digestRef(dst.Context(), d), mf); err != nil {
		return err
	}
	if err := m.mirrorReferrers(ctx, e, src.Context(), dst.Context(), d, res); err != nil {
		return err
	}
	return m.putManifest(ctx, dst, mf)
}

// mirrorReferrers applies the decision table to the direct referrers of
// digest d and to its cosign tags, one row each in res, when the entry
// includes referrers. Any failed row fails the tag: the error names the
// first.
func (m *Mirror) mirrorReferrers(ctx context.Context, e Entry, src, dst name.Repository, d v1.Hash, res *TagResult) error {
	if !e.IncludeReferrers {
		return nil
	}
	todo, have, err := m.listReferrers(ctx, src, dst, d)
	if err != nil {
		return err
	}
	var tags []string
	for _, s := range cosignSuffixes {
		if tag := cosignTag(d, s); e.sourceTags[tag] {
			tags = append(tags, tag)
		}
	}
	// Rows in a fixed order (referrers by digest, then the cosign tags),
	// worked on Concurrency at once: each is a few round trips.
	res.Referrers = make([]ReferrerResult, len(todo)+len(tags))
	var g errgroup.Group
	g.SetLimit(m.opts.Concurrency)
	for i := range res.Referrers {
		g.Go(func() error {
			if i < len(todo) {
				res.Referrers[i] = m.mirrorReferrer(ctx, src, dst, d, todo[i], have[todo[i].Digest])
			} else {
				tag := tags[i-len(todo)]
				res.Referrers[i] = m.mirrorCosignTag(ctx, e, src.Tag(tag), dst.Tag(tag))
			}
			return nil
		})
	}
	_ = g.Wait() // every row carries its own outcome
	for _, r := range res.Referrers {
		if r.Status == StatusFailed {
			return fmt.Errorf("referrer %s: %w", r.label(), r.Err)
		}
	}
	return nil
}

// label names a referrer row in an error.
func (r ReferrerResult) label() string {
	switch {
	case r.Tag != "":
		return r.Tag
	case r.ArtifactType != "":
		return r.Digest + " (" + r.ArtifactType + ")"
	}
	return r.Digest
}

// listReferrers lists the direct referrers of d at both ends at once,
// through the referrers API or, where a registry answers 404, its
// referrers tag. It returns the source's, sorted by digest, and the
// digests the destination lists: a referrer counts as there only when
// clients can find it, so one whose listing a crash left out is written
// again (which puts it back in the list).
func (m *Mirror) listReferrers(ctx context.Context, src, dst name.Repository, d v1.Hash) ([]v1.Descriptor, map[v1.Hash]bool, error) {
	type listing struct {
		descs []v1.Descriptor
		err   error
	}
	dch := make(chan listing, 1)
	go func() {
		descs, err := m.referrers(ctx, digestRef(dst, d))
		dch <- listing{descs, err}
	}()
	descs, err := m.referrers(ctx, digestRef(src, d))
	dl := <-dch
	if err != nil {
		return nil, nil, fmt.Errorf("list referrers of %s: %w", digestRef(src, d), fromSource(err))
	}
	if dl.err != nil {
		return nil, nil, fmt.Errorf("list referrers of %s: %w", digestRef(dst, d), dl.err)
	}
	slices.SortFunc(descs, func(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) })
	have := map[v1.Hash]bool{}
	for _, r := range dl.descs {
		have[r.Digest] = true
	}
	return descs, have, nil
}

// referrers lists the referrers of ref with the run's puller (its
// clients, its referrers-tag fallback).
func (m *Mirror) referrers(ctx context.Context, ref name.Digest) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(ref, remote.Reuse(m.puller), remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return im.Manifests, nil
}

// mirrorReferrer applies the decision table to one OCI referrer of
// subject, by digest: there is no tag to drift.
func (m *Mirror) mirrorReferrer(ctx context.Context, src, dst name.Repository, subject v1.Hash, r v1.Descriptor, present bool) ReferrerResult {
	row := ReferrerResult{Digest: r.Digest.String(), ArtifactType: r.ArtifactType}
	switch {
	case present:
		row.Status, row.Reason = StatusSkipped, ReasonUpToDate
	case m.opts.DryRun:
		row.Status = StatusWouldCopy
	default:
		if err := m.copyReferrer(ctx, src, dst, subject, r.Digest); err != nil {
			row.Status, row.Err = StatusFailed, err
		} else {
			row.Status = StatusCopied
		}
	}
	return row
}

// copyReferrer copies referrer d of subject and writes its manifest by
// digest. The write holds the subject's lock: on a registry without the
// referrers API, go-containerregistry then reads the subject's referrers
// tag, adds d and puts it back, and two such writes at once would lose one.
func (m *Mirror) copyReferrer(ctx context.Context, src, dst name.Repository, subject, d v1.Hash) error {
	mf, err := m.copyContent(ctx, src, dst, d, nil)
	if err != nil {
		return err
	}
	unlock, err := m.subjects.lock(ctx, dst.Name()+"@"+subject.String())
	if err != nil {
		return err
	}
	defer unlock()
	return m.putManifest(ctx, digestRef(dst, d), mf)
}

// mirrorCosignTag applies the decision table to one of cosign's tags, as
// to any tag: it may drift (cosign rewrites .sig when a signature is
// added), and overwrite replaces it.
func (m *Mirror) mirrorCosignTag(ctx context.Context, e Entry, src, dst name.Tag) ReferrerResult {
	e.IncludeReferrers = false // a signature's own referrers are not followed
	e.Platforms = nil          // nor is a signature cut down to platforms
	e.Verify = nil             // it travels with the subject verified before it
	tr, err := m.decide(ctx, e, src, dst)
	row := ReferrerResult{Tag: src.TagStr(), Digest: tr.Digest, Status: tr.Status, Reason: tr.Reason, DestinationDigest: tr.DestinationDigest}
	if err != nil {
		row.Status, row.Reason, row.Err = StatusFailed, "", err
	}
	return row
}

// emitReferrerDrift reports each drifted cosign tag as a tag's drift is
// reported, so that it gets the same warning naming both digests.
func (m *Mirror) emitReferrerDrift(index int, e Entry, rows []ReferrerResult) {
	for _, r := range rows {
		if r.Status == StatusDrifted {
			res := TagResult{Tag: r.Tag, Status: r.Status, Digest: r.Digest, DestinationDigest: r.DestinationDigest}
			m.emit(Event{Kind: Drift, Entry: index, Source: e.Source, Destination: e.Destination, Tag: r.Tag, Result: &res})
		}
	}
}

// keyedLocks holds one lock per key, made on first use; the zero value is
// ready. Waiting for a lock ends with the context.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]chan struct{}
}

// lock takes key's lock and returns its release.
func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]chan struct{}{}
	}
	ch, ok := k.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		k.locks[key] = ch
	}
	k.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
