package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// maxShown is how many problems a message lists, about a screenful;
	// the rest are counted.
	maxShown = 20
	// maxProblemLength bounds one problem, which may quote config text
	// such as a long key.
	maxProblemLength = 400
)

// problems collects config errors in the order they are found, so that a
// user sees every mistake of one file at once, in document order.
type problems struct {
	msgs []string
	// more counts the problems found after the first maxShown.
	more int
	positions
}

// positions tie the field paths of a decoded config to its YAML text.
type positions struct {
	// lines maps field paths to where they were written, when the config
	// came from YAML text; nil otherwise.
	lines map[string]int
	// subst maps the field paths whose values were substituted from the
	// environment to how; nil without substitution.
	subst map[string]*substitution
}

// add records a problem at a field path ("hosts[1].credential"), at the line
// of that field or, for a field that is missing, of its closest parent.
func (p *problems) add(path, format string, args ...any) {
	p.addAt(p.lineOf(path), path, format, args...)
}

// addAt records a problem at a field path and a line of the YAML text; line
// 0 means unknown.
//
// When the field's value was substituted, the problem names the variables
// and every argument that may carry the value is shown as "…": only ints,
// safe strings and the redacted form of a valueError are printed.
func (p *problems) addAt(line int, path, format string, args ...any) {
	if len(p.msgs) == maxShown {
		p.more++
		return
	}
	var msg string
	if s := p.subst[path]; s != nil {
		msg = s.origin() + ": " + fmt.Sprintf(format, redact(args)...)
	} else {
		msg = fmt.Sprintf(format, args...)
	}
	if path != "" {
		msg = path + ": " + msg
	}
	if line > 0 {
		msg = "line " + strconv.Itoa(line) + ": " + msg
	}
	p.msgs = append(p.msgs, truncate(msg, maxProblemLength))
}

// substituted reports whether the value at path came from the environment.
func (p *problems) substituted(path string) bool {
	return p.subst[path] != nil
}

// lineOf returns the line of the closest written field on path, or 0.
func (p *problems) lineOf(path string) int {
	for p.lines != nil && path != "" {
		if line, ok := p.lines[path]; ok {
			return line
		}
		path = path[:max(strings.LastIndexByte(path, '.'), strings.LastIndexByte(path, '['), 0)]
	}
	return 0
}

// err returns nil when nothing was recorded, else one error.
func (p *problems) err() error {
	if len(p.msgs) == 0 {
		return nil
	}
	msgs := p.msgs
	if p.more > 0 {
		msgs = append(msgs[:len(msgs):len(msgs)], fmt.Sprintf("and %d more problems", p.more))
	}
	return &problemsError{msgs: msgs}
}

// problemsError is every problem found in a config. Its message is a single
// line, so the CLI can print it as one failure.
type problemsError struct {
	msgs []string
}

func (e *problemsError) Error() string {
	return strings.Join(e.msgs, "; ")
}

// safe marks a message argument that never holds a config value (a list of
// allowed values, a field name), so it is printed even about a substituted
// value.
type safe string

// valueError is an error that may quote the value it is about. Problems
// about a substituted value print it redacted.
type valueError struct {
	format string
	args   []any
}

// valueErrorf returns a valueError; mark the arguments that never hold the
// value with safe.
func valueErrorf(format string, args ...any) error {
	return &valueError{format: format, args: args}
}

func (e *valueError) Error() string {
	return fmt.Sprintf(e.format, e.args...)
}

// redact replaces every argument that may carry a value by "…".
func redact(args []any) []any {
	out := make([]any, len(args))
	for i, arg := range args {
		switch a := arg.(type) {
		case safe:
			out[i] = string(a)
		case int, int64, bool:
			out[i] = a
		case *valueError:
			out[i] = fmt.Sprintf(a.format, redact(a.args)...)
		default:
			out[i] = "…"
		}
	}
	return out
}

// truncate cuts s to at most n bytes at a character boundary, marking the
// cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// field joins a parent path and a field name.
func field(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// index joins a list's path and an element's index.
func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// setFields names the fields of a one-of group that are set, in the order
// given, with a flag per name.
func setFields(names []string, set []bool) []string {
	var out []string
	for i, name := range names {
		if set[i] {
			out = append(out, name)
		}
	}
	return out
}

// exactlyOne records a problem unless exactly one of a group of fields is
// set. It reports whether exactly one is.
func (p *problems) exactlyOne(path string, names []string, set ...bool) bool {
	got := setFields(names, set)
	switch len(got) {
	case 1:
		return true
	case 0:
		p.add(path, "exactly one of %s must be set", safe(strings.Join(names, ", ")))
	default:
		p.add(path, "exactly one of %s must be set, got %s",
			safe(strings.Join(names, ", ")), safe(strings.Join(got, " and ")))
	}
	return false
}
