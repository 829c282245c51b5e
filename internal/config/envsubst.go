package config

import (
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/envsubst"
)

// substitute replaces ${VAR} references in a config's text from lookup, in
// envsubst's strict mode: a reference to an unset variable is an error (one
// set to the empty string is not), and shell defaults such as ${VAR:-x}
// apply. "$${VAR}" stays a literal "${VAR}".
//
// Errors name the variable and its line, never a value: the text being
// substituted holds tokens.
func substitute(text string, lookup func(string) (string, bool)) (string, error) {
	var lastUnset string
	out, err := envsubst.Eval(text, func(name string) (string, bool) {
		value, ok := lookup(name)
		if !ok {
			lastUnset = name
		}
		return value, ok
	})
	if err == nil {
		return out, nil
	}
	// envsubst stops at the first reference it cannot expand, right after
	// asking for that variable; a reference with a default also asks for an
	// unset variable but does not fail, so only the last one asked matters.
	if lastUnset != "" && strings.Contains(err.Error(), "not set") {
		return "", fmt.Errorf("%senvironment variable %s is not set: set it (empty is fine), "+
			"give a default with ${%s:-default}, or turn substitution off with --no-envsubst",
			linePrefix(text, lastUnset), lastUnset, lastUnset)
	}
	// The parser's errors are fixed phrases ("bad substitution") without
	// any of the text.
	return "", fmt.Errorf("environment substitution: %w (write a literal ${ as $${)", err)
}

// linePrefix returns "line N: " for the first line of text that refers to
// the variable name, or "" when no reference is spelt ${NAME...}.
func linePrefix(text, name string) string {
	needle := "${" + name
	for offset := 0; ; {
		i := strings.Index(text[offset:], needle)
		if i < 0 {
			return ""
		}
		end := offset + i + len(needle)
		if end == len(text) || !isNameByte(text[end]) {
			return fmt.Sprintf("line %d: ", strings.Count(text[:offset+i], "\n")+1)
		}
		offset = end
	}
}

// isNameByte reports whether b can continue a variable name.
func isNameByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}
