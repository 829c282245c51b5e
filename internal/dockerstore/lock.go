package dockerstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// LockFile is the name of the advisory lock file beside config.json.
const LockFile = "config.json.lock"

// lockPoll is how often a waiting run tries the lock again. A holder keeps
// it for one read, plan and save of config.json (milliseconds), so polling
// costs little and lets the wait end exactly when ctx does.
const lockPoll = 10 * time.Millisecond

// Lock takes an exclusive advisory lock (flock(2); LockFileEx on Windows)
// on LockFile in dir, creating dir and the file when missing, and waits for
// it until ctx ends. The caller holds it from reading config.json to saving
// it, so that concurrent flux-mirror runs serialize their read-modify-write
// and none loses another's entries; docker's atomic save (a temporary file
// renamed over config.json) still protects readers. Programs that take no
// lock, docker login among them, are not serialized with it.
//
// The lock file is left in place when released: removing it would let a
// waiter lock a file that a newcomer no longer sees.
func Lock(ctx context.Context, dir string) (unlock func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the Docker config directory: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	l := flock.New(path)
	// TryLockContext reports false only with an error (ctx's, or the
	// file's).
	if _, err := l.TryLockContext(ctx, lockPoll); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for the lock %s: another flux-mirror run still holds it: %w", path, err)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l.Unlock, nil
}
