package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/fluxcd/flux-mirror/internal/log"
)

// ErrorLine renders err on one line, so the failure is exactly one "✗" line
// however the error was joined or wrapped.
func ErrorLine(err error) string {
	lines := strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// ExitError ends the process with Code. Silent means the command already
// printed its outcome (sync's result lines), so main prints no "✗" line.
type ExitError struct {
	Code   int
	Silent bool
	Err    error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit turns a command's error into the process's exit status, printing
// the one "✗" line on stderr unless the error is silent.
func Exit(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	code := 1
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
		if ee.Silent {
			return code
		}
	}
	log.New(stderr, false).Failuref("%s", ErrorLine(err))
	return code
}

// Interrupted names the signal that ended ctx, when one did, in front of
// err: without it the user reads only "context canceled". ctx is the
// context of signal.NotifyContext, whose cause describes the signal.
func Interrupted(ctx context.Context, err error) error {
	// A plain cancel's cause is ctx.Err() itself; a signal's is its own
	// error (which still matches context.Canceled with errors.Is).
	cause := context.Cause(ctx)
	if err == nil || ctx.Err() == nil || cause == nil || cause == ctx.Err() {
		return err
	}
	name := cause.Error()
	for _, s := range []struct {
		sig  os.Signal
		name string
	}{{syscall.SIGTERM, "SIGTERM"}, {os.Interrupt, "SIGINT (Ctrl-C)"}} {
		if name == s.sig.String()+" signal received" {
			name = s.name
		}
	}
	return fmt.Errorf("interrupted by %s: %w", name, err)
}

// afterDeadline names --timeout in an error that wctx's deadline caused,
// when ctx (the command's) is still live: a bare "context deadline
// exceeded" does not tell the user which knob to turn.
func afterDeadline(ctx, wctx context.Context, timeout time.Duration, what string, err error) error {
	if err == nil || ctx.Err() != nil || !errors.Is(wctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s timed out after %s (--timeout): %w", what, timeout, err)
}
