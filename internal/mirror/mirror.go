// Package mirror copies tags of OCI repositories between registries: it
// plans each entry (list the source's tags, select), compares every
// selected tag's digest at both ends and copies what the decision table
// says, byte for byte, the tag written last.
//
// It speaks the registry protocol through go-containerregistry with that
// library's own retries turned off, so that one policy rules every job: a
// per-job time budget, a few more attempts with exponential backoff, none
// for errors that cannot heal, and a server's Retry-After honoured.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/selector"
)

// Entry is one repository to mirror.
type Entry struct {
	// Source and Destination are repositories (host[:port]/path, no tag).
	Source, Destination string
	// Selector picks the source tags to mirror; nil keeps them all.
	Selector *selector.Selector
	// Overwrite copies over a destination tag that holds another digest
	// instead of reporting it as drifted.
	Overwrite bool
	// IncludeReferrers mirrors, with each tag, the direct referrers of its
	// digest (signatures, SBOMs, attestations) and cosign's tag-based
	// signatures, attestations and SBOMs of that digest.
	IncludeReferrers bool
	// Platforms, when set, keeps only the children of a source index
	// whose platform satisfies one of them: the destination tag then
	// holds a new index of those children (a new digest), and the
	// referrers mirrored are the children's. A single image is copied
	// when its platform is one of them; anything else fails the tag.
	Platforms []v1.Platform
	// Verify, when set, checks the signature of each tag's source digest
	// before the tag is copied (dry runs included): a tag whose check
	// fails is not copied, and the entry's tags not yet started are not
	// planned. Tags that need no copy (up to date, drifted) are not
	// checked.
	Verify SignatureCheck
	// Chart, when set, makes this a charts entry: Source is only its
	// label, the versions come from the chart repository's index, and
	// Selector picks among them.
	Chart *Chart

	// sourceTags is the source's tag list, set when the entry is planned:
	// it says which cosign tags of a digest exist without asking.
	sourceTags map[string]bool
}

// Options configure a Mirror.
type Options struct {
	// Remote are the go-containerregistry options every request gets
	// (authentication, and perhaps a transport).
	Remote []remote.Option
	// Transport carries every request (nil: go-containerregistry's
	// default), wrapped so that the engine sees a 429 or 503's Retry-After
	// (go-containerregistry's errors drop the headers). It replaces any
	// transport in Remote.
	Transport http.RoundTripper
	// Insecure allows plain HTTP to every registry.
	Insecure bool
	// Concurrency is how many tag jobs of one entry run at once, and how
	// many blobs one copy moves at once. Must be > 0.
	Concurrency int
	// Retries is how many more attempts a failed job gets.
	Retries int
	// Timeout bounds one job, all its attempts included; 0 means none.
	Timeout time.Duration
	// DryRun plans and compares but writes nothing.
	DryRun bool
	// Events, when set, receives what happens as it happens (for verbose
	// output and progress). It is called from several goroutines at once.
	Events func(Event)
}

// Mirror runs entries. One Mirror keeps, for its whole life, the
// authenticated clients of each repository and the ledger of blobs it
// has put in each destination registry, so create one per run.
type Mirror struct {
	opts   Options
	puller *remote.Puller
	pusher *remote.Pusher
	ledger ledger
	bytes  atomic.Int64
	// subjects serializes referrer writes per destination subject: a
	// registry without the referrers API keeps them in one index that
	// each write reads, changes and puts back.
	subjects keyedLocks
}

// New checks o and builds the clients.
func New(o Options) (*Mirror, error) {
	if o.Concurrency <= 0 {
		return nil, fmt.Errorf("concurrency must be greater than zero, got %d", o.Concurrency)
	}
	if o.Retries < 0 {
		return nil, fmt.Errorf("retries must be zero or more, got %d", o.Retries)
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("timeout must not be negative, got %s", o.Timeout)
	}
	base := o.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	ropts := append(append([]remote.Option{}, o.Remote...), remote.WithTransport(retryAfterTransport{base: base}))
	ropts = append(ropts,
		// One retry policy, the job's: the library tries each request once.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		// Blob streams open at once across the run.
		remote.WithJobs(o.Concurrency),
		// A manifest with a subject is also listed in the destination's
		// referrers tag (sha256-<hex>) when the destination has no
		// referrers API, as go-containerregistry does by default: without
		// it the PUT succeeds and the library then fails the write.
		remote.WithReferrersTagFallback(true),
	)
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, err
	}
	return &Mirror{opts: o, puller: puller, pusher: pusher, ledger: newLedger()}, nil
}

// BytesCopied returns how many blob bytes the run has read from sources
// so far, for progress displays.
func (m *Mirror) BytesCopied() int64 { return m.bytes.Load() }

// Run mirrors entries in config order and returns their results in that
// order. A plan that fails fails its entry only. When ctx ends, jobs in
// flight are cancelled, the entries under way are returned with them
// failed, and entries not yet started are left out.
//
// Entries take job slots in config order, and at most Concurrency jobs run
// at once across the run. An entry that shares no repository with an
// earlier one still running may start its jobs when that one has handed
// out its last, so that the slots left idle by an entry's slowest tag go
// to the next entry; an entry that reads or writes a repository an
// earlier entry writes waits until that entry is done, so that it sees
// what was copied, exactly as if entries ran one after another. The tag
// lists of later entries are fetched early on the same rule.
func (m *Mirror) Run(ctx context.Context, entries []Entry) []EntryResult {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deps := m.dependencies(entries)
	lists := m.prefetch(pctx, entries, deps)
	s := newSchedule(len(entries), m.opts.Concurrency)
	for i, e := range entries {
		go func() {
			defer close(s.finished[i])
			if !s.waitTurn(ctx, i, deps[i]) {
				return
			}
			s.started[i] = true
			s.results[i] = m.runEntry(ctx, i, e, lists[i], s)
		}()
	}
	results := make([]EntryResult, 0, len(entries))
	for i := range entries {
		<-s.finished[i]
		if !s.started[i] {
			break
		}
		res := &s.results[i]
		m.emit(Event{Kind: EntryFinished, Entry: i, Source: res.Source, Destination: res.Destination, Elapsed: res.Duration, Err: res.Err, EntryResult: res})
		results = append(results, *res)
	}
	return results
}

// dependencies returns, for each entry, the earlier entries it must wait
// for: those writing a repository it reads or writes, and those reading a
// repository it writes. Entries whose repositories do not parse depend on
// nothing (their plan fails without a request).
func (m *Mirror) dependencies(entries []Entry) [][]int {
	type repos struct{ src, dst string }
	parsed := make([]*repos, len(entries))
	for i, e := range entries {
		if src, dst, err := m.repositories(e); err == nil {
			parsed[i] = &repos{src.Name(), dst.Name()}
		}
	}
	deps := make([][]int, len(entries))
	for i, a := range parsed {
		for j, b := range parsed[:i] {
			if a != nil && b != nil && (a.src == b.dst || a.dst == b.dst || a.dst == b.src) {
				deps[i] = append(deps[i], j)
			}
		}
	}
	return deps
}

// tagList is an entry's source tags, listed ahead of its turn.
type tagList struct {
	done chan struct{}
	tags []string
	err  error
	// attempts and waits replay the listing's retries as events when the
	// entry's turn comes, so that verbose output stays in entry order.
	retries []Event
}

// prefetch lists the source tags of every entry that depends on no
// earlier entry, at most Concurrency at once and started in config order
// (the first entries are needed first), and returns one future per entry
// (nil: list in turn).
func (m *Mirror) prefetch(ctx context.Context, entries []Entry, deps [][]int) []*tagList {
	lists := make([]*tagList, len(entries))
	srcs := make([]name.Repository, len(entries))
	for i, e := range entries {
		src, _, err := m.repositories(e)
		if err != nil || len(deps[i]) > 0 {
			continue
		}
		lists[i], srcs[i] = &tagList{done: make(chan struct{})}, src
	}
	go func() {
		sem := make(chan struct{}, m.opts.Concurrency)
		for i, l := range lists {
			if l == nil {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				l.err = context.Cause(ctx)
				close(l.done)
				continue
			}
			go func() {
				defer func() { <-sem; close(l.done) }()
				l.tags, l.err = m.listTags(ctx, i, entries[i], srcs[i], func(ev Event) { l.retries = append(l.retries, ev) })
			}()
		}
	}()
	return lists
}

// listTags lists an entry's source tags under the job budget and retry
// policy, handing retry events to emit.
func (m *Mirror) listTags(ctx context.Context, index int, e Entry, src name.Repository, emit func(Event)) ([]string, error) {
	var tags []string
	_, err := m.attempt(ctx, func(ctx context.Context) error {
		var lerr error
		tags, lerr = m.puller.List(ctx, src)
		return fromSource(lerr)
	}, func(n int, wait time.Duration, err error) {
		emit(Event{Kind: Retrying, Entry: index, Source: e.Source, Attempt: n, Wait: wait, Err: err})
	})
	return tags, err
}

// runEntry plans an entry and runs its jobs in the schedule's slots. It
// marks the entry's jobs handed out however it ends.
func (m *Mirror) runEntry(ctx context.Context, index int, e Entry, early *tagList, s *schedule) EntryResult {
	start := time.Now()
	res := EntryResult{Source: e.Source, Destination: e.Destination, Tags: []TagResult{}}
	m.emit(Event{Kind: EntryStarted, Entry: index, Source: e.Source, Destination: e.Destination})
	defer func() {
		s.handedOut(index)
		res.Duration = time.Now().Sub(start)
	}()

	if e.Chart != nil {
		m.runChartEntry(ctx, index, e, s, &res)
		return res
	}
	src, dst, err := m.repositories(e)
	if err != nil {
		res.Err = err
		return res
	}
	var tags []string
	if early != nil {
		select {
		case <-early.done:
		case <-ctx.Done():
			res.Err = fmt.Errorf("%w: %w", errInterrupted, context.Cause(ctx))
			return res
		}
		for _, ev := range early.retries {
			m.emit(ev)
		}
		tags, err = early.tags, early.err
	} else {
		tags, err = m.listTags(ctx, index, e, src, m.emit)
	}
	if err != nil {
		res.Err = fmt.Errorf("list tags of %s: %w", src, err)
		return res
	}
	selected := tags
	if e.Selector != nil {
		selected, res.Excluded = e.Selector.Select(tags)
	}
	m.emit(Event{Kind: EntryPlanned, Entry: index, Source: e.Source, Tags: selected, Excluded: res.Excluded})
	e.sourceTags = cosignTagSet(e, tags)
	var h *halt
	if e.Verify != nil {
		h = &halt{}
	}
	res.Tags = m.runJobs(ctx, index, selected, s, h, func(ctx context.Context, tag string) TagResult {
		r := m.runJob(ctx, index, e, src, dst, tag)
		h.note(tag, r)
		return r
	})
	return res
}

// runJobs runs one job per tag in the run's job slots and returns their
// results in tag order. Once h says the entry stopped, the tags not yet
// started fail without a request.
func (m *Mirror) runJobs(ctx context.Context, index int, tags []string, s *schedule, h *halt, run func(context.Context, string) TagResult) []TagResult {
	out := make([]TagResult, len(tags))
	var wg sync.WaitGroup
	for i, tag := range tags {
		select {
		case s.slots <- struct{}{}:
			if ctx.Err() != nil {
				<-s.slots // both were ready: do not start, give it back
			}
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			out[i] = TagResult{Tag: tag, Status: StatusFailed, Err: fmt.Errorf("not started: %w", context.Cause(ctx))}
			continue
		}
		// Asked once the slot is ours: a job that stops the entry says so
		// before it gives its slot back.
		if err := h.stopped(); err != nil {
			<-s.slots
			out[i] = TagResult{Tag: tag, Status: StatusFailed, Err: err}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-s.slots; wg.Done() }()
			out[i] = run(ctx, tag)
		}()
	}
	s.handedOut(index)
	wg.Wait()
	return out
}

// nameOptions parse references as the run's options say.
func (m *Mirror) nameOptions() []name.Option {
	if m.opts.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// repositories parses an entry's two repositories.
func (m *Mirror) repositories(e Entry) (src, dst name.Repository, err error) {
	if e.Chart != nil {
		return src, dst, errors.New("a charts entry has no source repository")
	}
	opts := m.nameOptions()
	if src, err = name.NewRepository(e.Source, opts...); err != nil {
		return src, dst, fmt.Errorf("source %q: %w", e.Source, err)
	}
	if dst, err = name.NewRepository(e.Destination, opts...); err != nil {
		return src, dst, fmt.Errorf("destination %q: %w", e.Destination, err)
	}
	return src, dst, nil
}

func (m *Mirror) emit(ev Event) {
	if m.opts.Events != nil {
		m.opts.Events(ev)
	}
}

// errInterrupted marks a job stopped by the run's context.
var errInterrupted = errors.New("interrupted")
