package mirror

import (
	"io"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ledgerKey is a blob in a destination registry.
type ledgerKey struct {
	registry string
	digest   v1.Hash
}

// ledger remembers, for the run, which destination repositories hold
// which blobs, so that each distinct blob is uploaded to a registry once.
type ledger struct {
	mu      sync.Mutex
	entries map[ledgerKey]*ledgerEntry
}

// ledgerEntry is one blob in one registry: done closes when its first
// upload ends; err is that upload's error (the entry is then forgotten).
type ledgerEntry struct {
	done  chan struct{}
	err   error
	mu    sync.Mutex
	repos []string
}

func newLedger() ledger { return ledger{entries: map[ledgerKey]*ledgerEntry{}} }

// claim returns the entry for key, and true when the caller is the first
// to need the blob and must upload it.
func (l *ledger) claim(key ledgerKey) (*ledgerEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		return e, false
	}
	e := &ledgerEntry{done: make(chan struct{})}
	l.entries[key] = e
	return e, true
}

// finish records the owner's upload to repo; a failed one is forgotten so
// that a waiting job can take over.
func (l *ledger) finish(key ledgerKey, e *ledgerEntry, repo string, err error) {
	if err != nil {
		l.mu.Lock()
		delete(l.entries, key)
		l.mu.Unlock()
		e.err = err
	} else {
		e.add(repo)
	}
	close(e.done)
}

func (e *ledgerEntry) add(repo string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.repos = append(e.repos, repo)
}

// holder returns a repository holding the blob: repo itself when it does
// (ok), else the first one it went to.
func (e *ledgerEntry) holder(repo string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.repos {
		if r == repo {
			return r, true
		}
	}
	return e.repos[0], false
}

// countingReader adds what it reads to n.
type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.ReadCloser.Read(p)
	c.n.Add(int64(k))
	return k, err
}
