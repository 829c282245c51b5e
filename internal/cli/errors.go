package cli

import "strings"

// ErrorLine renders err on one line, so the failure is exactly one "✗" line
// however the error was joined or wrapped.
func ErrorLine(err error) string {
	lines := strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
