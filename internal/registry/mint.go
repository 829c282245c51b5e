package registry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
)

const (
	// mintTimeout bounds one mint. A mint runs detached from the request
	// that asked for it, so that the requests waiting on the same mint are
	// not failed by the first one being cancelled.
	mintTimeout = 2 * time.Minute
	// unknownLifetime is how long a credential whose expiry cannot be known
	// (an opaque token in a file or a variable) is used before it is read
	// again: files rotate without telling anyone.
	unknownLifetime = 5 * time.Minute
	// maxMargin is the most a credential is renewed before it expires:
	// enough for a slow request to reach the registry with it.
	maxMargin = 30 * time.Second
)

// resolveFunc mints the credential of one host; credential.Resolve outside
// tests.
type resolveFunc func(ctx context.Context, root string, h config.Host, o credential.Options) (credential.Credential, error)

// minter holds the credential of one host, minted when first needed and
// minted again before it expires. At most one mint per host is in flight;
// concurrent callers wait for it.
type minter struct {
	root    string
	host    config.Host
	opts    credential.Options
	resolve resolveFunc
	now     func() time.Time
	logf    func(format string, args ...any)

	mu       sync.Mutex
	cred     credential.Credential
	renewAt  time.Time     // zero until the first mint
	inflight chan struct{} // closed when the running mint ends; nil when none
	lastErr  error         // the error of the mint that closed inflight
	mints    int           // how many mints succeeded, for tests and the log
}

// get returns a credential that is not about to expire, minting one when
// needed. It returns when ctx ends even if a mint is still running.
func (m *minter) get(ctx context.Context) (credential.Credential, error) {
	m.mu.Lock()
	if !m.renewAt.IsZero() && m.now().Before(m.renewAt) {
		c := m.cred
		m.mu.Unlock()
		return c, nil
	}
	wait := m.inflight
	if wait == nil {
		wait = make(chan struct{})
		m.inflight = wait
		go m.mint(ctx, wait)
	}
	m.mu.Unlock()

	select {
	case <-wait:
	case <-ctx.Done():
		return credential.Credential{}, fmt.Errorf("host %q: %w", m.host.Host, ctx.Err())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastErr != nil {
		return credential.Credential{}, m.lastErr
	}
	// The newest credential there is, even when its lifetime is shorter
	// than the renewal margin.
	return m.cred, nil
}

// renew mints again unless a newer credential than used has been minted
// since, and returns the newest: for a credential the registry refused
// before its known expiry.
func (m *minter) renew(ctx context.Context, used credential.Credential) (credential.Credential, error) {
	m.mu.Lock()
	if m.cred.Token == used.Token && m.cred.Password == used.Password {
		m.renewAt = time.Time{}
	}
	m.mu.Unlock()
	return m.get(ctx)
}

// mint runs one mint and publishes its result to the waiters of done.
func (m *minter) mint(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mintTimeout)
	defer cancel()
	start := m.now()
	c, err := m.resolve(ctx, m.root, m.host, m.opts)

	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight, m.lastErr = nil, err
	if err == nil {
		m.cred, m.renewAt = c, renewAt(start, c.ExpiresAt)
		m.mints++
		if m.logf != nil {
			m.logf("minted %s", c) // Credential prints without its secret
		}
	}
	close(done)
}

// renewAt is when a credential minted at start and expiring at expires
// should be minted again: when less than a fifth of its lifetime or
// maxMargin is left, whichever comes first, but not before half of its
// lifetime has passed (a 5 s token is renewed after 2.5 s).
func renewAt(start, expires time.Time) time.Time {
	if expires.IsZero() {
		return start.Add(unknownLifetime)
	}
	lifetime := expires.Sub(start)
	if lifetime <= 0 {
		return start // already expired: mint again on next use
	}
	margin := max(lifetime/5, min(maxMargin, lifetime/2))
	return expires.Add(-margin)
}
