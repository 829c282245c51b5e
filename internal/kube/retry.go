package kube

import (
	"context"
	"fmt"
	"math"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
)

// raceBackoff spaces the attempts of a write that keeps losing races with
// other writers. Each round lets at least one writer through, so n writers
// racing on one Secret need up to n rounds; a fixed number of steps (as
// client-go's retry.RetryOnConflict has) fails some of them once n passes
// it. So the steps never run out: the write deadline bounds the retries.
// Jitter (each pause between d and 2d) spreads writers that collided so
// they do not collide again. Steps only has to outlast the growth to Cap:
// once Cap is reached the pause stays there.
var raceBackoff = wait.Backoff{Duration: 5 * time.Millisecond, Factor: 1.5, Jitter: 1, Steps: math.MaxInt32, Cap: 400 * time.Millisecond}

// noDeadlineRaceWindow bounds the retries when ctx has no deadline: the
// command always gives one (--timeout), other callers get this.
const noDeadlineRaceWindow = time.Minute

// RaceError says the write deadline ended while other writers kept winning
// the race for the object.
type RaceError struct {
	// Kind is what was written, "secret" or "serviceaccount".
	Kind string
	// Ref is the object, namespace/name.
	Ref string
	// Lost is how many attempts lost to another writer.
	Lost int
	// Err is the error that ended the last attempt.
	Err error
}

func (e *RaceError) Error() string {
	return fmt.Sprintf("%s %s: other writers raced for it and won %d %s before the write deadline: %v",
		e.Kind, e.Ref, e.Lost, plural(e.Lost, "time", "times"), e.Err)
}

// Unwrap returns the error of the last attempt.
func (e *RaceError) Unwrap() error { return e.Err }

// retryConflicts runs attempt until it succeeds, fails with an error other
// than a lost race, or ctx ends. If ctx ends after a lost race, the error
// is a *RaceError.
func retryConflicts(ctx context.Context, kind, ref string, attempt func() error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, noDeadlineRaceWindow)
		defer cancel()
	}
	backoff := raceBackoff
	lost := 0
	for {
		err := attempt()
		switch {
		case err == nil:
			return nil
		case retriable(err):
			lost++
		case lost > 0 && ctx.Err() != nil:
			// The deadline ended the request after earlier attempts had
			// lost races: the race is what the user must hear about.
			return &RaceError{Kind: kind, Ref: ref, Lost: lost, Err: err}
		default:
			return err
		}
		t := time.NewTimer(backoff.Step())
		select {
		case <-ctx.Done():
			t.Stop()
			return &RaceError{Kind: kind, Ref: ref, Lost: lost, Err: err}
		case <-t.C:
		}
	}
}

// retriable is true for a lost race: an update on a stale resourceVersion,
// or a create that another writer beat.
func retriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
