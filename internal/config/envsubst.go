package config

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// substitution records how one scalar of the config was substituted, so
// that every message about it can name the variables instead of quoting a
// value that may be a secret.
type substitution struct {
	// raw is the scalar as written in the config, references and all.
	raw string
	// vars are the variables whose values were read, in order, once each.
	vars []string
}

// origin says where a substituted value came from, for messages.
func (s *substitution) origin() string {
	refs := make([]string, 0, len(s.vars))
	for _, name := range s.vars[:min(len(s.vars), 3)] {
		refs = append(refs, "${"+name+"}")
	}
	if len(s.vars) > 3 {
		refs = append(refs, "…")
	}
	if len(refs) == 1 {
		return "the value of " + refs[0]
	}
	return "the value built from " + strings.Join(refs, ", ")
}

// substitutions maps the scalars of a parsed config that held a ${VAR}
// reference to how they were substituted.
type substitutions map[*yaml.Node]*substitution

const (
	// maxNesting bounds references inside defaults (${A:-${B:-...}}).
	maxNesting = 8
	// maxSubstituted bounds the bytes that variables add to a config, so
	// that a short config repeating a large variable cannot take the
	// memory of a pod.
	maxSubstituted = 4 * MaxSize
)

// substituteTree replaces the ${VAR} references in every scalar of a parsed
// config, keys included, one scalar at a time: a value's characters are
// never read as YAML, so it arrives byte for byte and cannot add structure.
// A substituted scalar is always a string. Aliases share their anchor's
// node, which is substituted once.
//
// Errors name the variable and the line, never a value.
func substituteTree(root *yaml.Node, lookup func(string) (string, bool)) (substitutions, error) {
	subs := substitutions{}
	e := &expander{lookup: lookup}
	var p problems
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.AliasNode:
			return
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "$") {
				return
			}
			e.vars = nil
			value, err := e.expand(n.Value)
			if err != nil {
				p.addAt(n.Line, "", "%s", safe(err.Error()))
				return
			}
			if len(e.vars) > 0 {
				subs[n] = &substitution{raw: n.Value, vars: e.vars}
			}
			if value != n.Value || len(e.vars) > 0 {
				n.Value, n.Tag = value, "!!str"
			}
			return
		}
		for _, child := range n.Content {
			walk(child)
		}
	}
	walk(root)
	return subs, p.err()
}

// expander expands the references of one scalar at a time. It implements
// the shell's meaning of the forms it accepts and refuses every other one:
//
//	${VAR}                 VAR's value; VAR must be set (empty is fine)
//	${VAR:-word}, ${VAR-word}   word if VAR is unset or empty / unset
//	${VAR:?message}, ${VAR?message}  an error if VAR is unset or empty / unset
//	${VAR:+word}, ${VAR+word}   word if VAR is set and not empty / set, else empty
//
// "$$" is a literal "$", so "$${VAR}" stays "${VAR}". A word may hold
// references; it is expanded only when it is used, like in a shell. A
// variable's value is never expanded again.
type expander struct {
	lookup func(string) (string, bool)
	// vars are the variables read for the current scalar.
	vars []string
	// added counts the bytes variables added to the whole config.
	added int
}

// expand returns s with its references replaced.
func (e *expander) expand(s string) (string, error) {
	out, _, err := e.word(s, 0, true, 0)
	return out, err
}

// word expands s from i to its end or, inside a reference (depth > 0), to
// the "}" that closes it, and returns the index where it stopped. With eval
// false it only finds the end.
func (e *expander) word(s string, i int, eval bool, depth int) (string, int, error) {
	var b strings.Builder
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			value, next, err := e.reference(s, i, eval, depth+1)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(value)
			i = next
		case s[i] == '}' && depth > 0:
			return b.String(), i, nil
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), i, nil
}

// supportedForms lists the accepted forms for error messages.
const supportedForms = "use ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, " +
	"${VAR:+alternative} or ${VAR+alternative}, and write a literal ${ as $${"

// reference expands the reference starting at s[i] ("${") and returns the
// index after its closing "}".
func (e *expander) reference(s string, i int, eval bool, depth int) (string, int, error) {
	start := i + 2
	end := start
	for end < len(s) && isNameByte(s[end]) && !(end == start && '0' <= s[end] && s[end] <= '9') {
		end++
	}
	name := s[start:end]
	switch {
	case depth > maxNesting:
		return "", 0, fmt.Errorf("${%s...}: references nested more than %d deep", name, maxNesting)
	case end == len(s):
		return "", 0, fmt.Errorf("${%s...: no closing } (%s)", name, supportedForms)
	case name == "" && s[end] == '}':
		return "", 0, fmt.Errorf("${}: a variable name is missing (%s)", supportedForms)
	case s[end] == '}':
		if !eval {
			return "", end + 1, nil
		}
		value, set := e.read(name)
		if !set {
			return "", 0, fmt.Errorf("environment variable %s is not set: set it (empty is fine), "+
				"give a default with ${%s:-default}, or turn substitution off with --no-envsubst", name, name)
		}
		return value, end + 1, e.grow(name, value)
	}
	op := operator(s[end:])
	if name == "" || op == "" {
		return "", 0, fmt.Errorf("${%s%s...}: this form is not supported (%s)", name, punctuation(s[end:]), supportedForms)
	}
	return e.operand(s, name, op, end+len(op), eval, depth)
}

// operand expands ${name<op>word} from the word's start and returns the
// index after the closing "}".
func (e *expander) operand(s, name, op string, start int, eval bool, depth int) (string, int, error) {
	var value string
	var set bool
	if eval {
		value, set = e.read(name)
	}
	colon := op[0] == ':'
	present := set && (!colon || value != "")
	var use bool
	switch op[len(op)-1] {
	case '-':
		use = !present
	case '+':
		use = present
	case '?':
		use = !present
	}
	word, end, err := e.word(s, start, eval && use && op[len(op)-1] != '?', depth)
	if err != nil {
		return "", 0, err
	}
	if end == len(s) {
		return "", 0, fmt.Errorf("${%s%s...: no closing } (%s)", name, op, supportedForms)
	}
	if !eval {
		return "", end + 1, nil
	}
	switch op[len(op)-1] {
	case '-':
		if use {
			return word, end + 1, nil
		}
	case '+':
		if use {
			return word, end + 1, nil
		}
		return "", end + 1, nil
	case '?':
		if use {
			return "", 0, questionError(name, s[start:end], colon)
		}
	}
	return value, end + 1, e.grow(name, value)
}

// questionError is the failure of ${VAR:?message} or ${VAR?message}. The
// message is the text the user wrote, unexpanded.
func questionError(name, message string, colon bool) error {
	if message != "" {
		return fmt.Errorf("%s: %s", name, message)
	}
	if colon {
		return fmt.Errorf("environment variable %s is not set or empty", name)
	}
	return fmt.Errorf("environment variable %s is not set", name)
}

// read looks a variable up and remembers that the scalar used it.
func (e *expander) read(name string) (string, bool) {
	if !slices.Contains(e.vars, name) {
		e.vars = append(e.vars, name)
	}
	return e.lookup(name)
}

// grow counts the bytes a variable adds and refuses more than
// maxSubstituted in all.
func (e *expander) grow(name, value string) error {
	e.added += len(value)
	if e.added > maxSubstituted {
		return fmt.Errorf("${%s}: variables add more than %d MiB to the config (keep large values in files named by fromPath)",
			name, maxSubstituted>>20)
	}
	return nil
}

// operator returns the operator at the start of s, one of ":-", "-",
// ":?", "?", ":+", "+", or "".
func operator(s string) string {
	for _, op := range []string{":-", ":?", ":+", "-", "?", "+"} {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

// punctuation returns the run of operator characters at the start of s,
// to show an unsupported form without its words.
func punctuation(s string) string {
	end := 0
	for end < len(s) && end < 3 && strings.IndexByte(":-?+=#%/^,@!*", s[end]) >= 0 {
		end++
	}
	return s[:end]
}

// isNameByte reports whether b can be part of a variable name.
func isNameByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}
