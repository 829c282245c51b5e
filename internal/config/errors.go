package config

import (
	"fmt"
	"strconv"
	"strings"
)

// problems collects config errors in the order they are found, so that a
// user sees every mistake of one file at once, in document order.
type problems struct {
	msgs []string
	// lines maps field paths to where they were written, when the config
	// came from YAML text; nil otherwise.
	lines map[string]int
}

// add records a problem at a field path ("hosts[1].credential"), at the line
// of that field or, for a field that is missing, of its closest parent.
func (p *problems) add(path, format string, args ...any) {
	p.addAt(p.lineOf(path), path, format, args...)
}

// addAt records a problem at a field path and a line of the YAML text; line
// 0 means unknown.
func (p *problems) addAt(line int, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	if line > 0 {
		msg = "line " + strconv.Itoa(line) + ": " + msg
	}
	p.msgs = append(p.msgs, msg)
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
	return &problemsError{msgs: p.msgs}
}

// problemsError is every problem found in a config. Its message is a single
// line, so the CLI can print it as one failure.
type problemsError struct {
	msgs []string
}

func (e *problemsError) Error() string {
	return strings.Join(e.msgs, "; ")
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
		p.add(path, "exactly one of %s must be set", strings.Join(names, ", "))
	default:
		p.add(path, "exactly one of %s must be set, got %s",
			strings.Join(names, ", "), strings.Join(got, " and "))
	}
	return false
}
