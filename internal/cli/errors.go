package cli

import (
	"errors"
	"io"
	"strings"

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
