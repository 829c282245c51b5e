// Package log writes the human-readable progress lines of flux-mirror to
// stderr, one event per line, with the glyphs the flux CLI uses.
package log

import (
	"fmt"
	"io"
	"sync"
)

// Logger prints Flux-style lines. It is safe for concurrent use. The zero
// value discards everything.
type Logger struct {
	mu      sync.Mutex
	w       io.Writer
	verbose bool
}

// New returns a Logger writing to w. Debugf lines appear only when verbose.
func New(w io.Writer, verbose bool) *Logger {
	return &Logger{w: w, verbose: verbose}
}

func (l *Logger) printf(glyph, format string, a ...any) {
	if l == nil || l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, glyph+" "+format+"\n", a...)
}

// Actionf reports a step that starts now.
func (l *Logger) Actionf(format string, a ...any) { l.printf("►", format, a...) }

// Generatef reports a detail of the current step.
func (l *Logger) Generatef(format string, a ...any) { l.printf("•", format, a...) }

// Debugf reports a detail that only --verbose shows.
func (l *Logger) Debugf(format string, a ...any) {
	if l != nil && l.verbose {
		l.printf("•", format, a...)
	}
}

// Successf reports that the command did what it was asked.
func (l *Logger) Successf(format string, a ...any) { l.printf("✔", format, a...) }

// Warningf reports something the user should know about.
func (l *Logger) Warningf(format string, a ...any) { l.printf("⚠️", format, a...) }

// Failuref reports the error that ends the command; main calls it once.
func (l *Logger) Failuref(format string, a ...any) { l.printf("✗", format, a...) }
