package config

import (
	"fmt"
	"unicode/utf8"
)

// MaxSize is the largest config accepted, in bytes. A config is a few
// kilobytes, and a large CA bundle fits; the limit keeps a wrong file (a
// log, an image) from taking the memory of a pod before the user sees an
// error. Parsing takes at most about 100 times the size, for a file made
// only of the smallest values (measured by TestBoundedInputs), so 256 KiB
// bounds a run to some 30 MB more than usual.
const MaxSize = 256 << 10

// checkText refuses a config that is too large, that is not UTF-8, or that
// holds a control character other than tab, line feed and carriage return.
// YAML would silently stop at a NUL byte or read some control characters as
// line breaks, so the bytes are checked before anything parses them.
func checkText(data []byte) error {
	if len(data) > MaxSize {
		return fmt.Errorf("larger than %d KiB, the most a config may be "+
			"(keep large values such as CA bundles in files named by fromPath)", MaxSize>>10)
	}
	line, column := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Errorf("line %d, column %d: invalid UTF-8 (save the config as UTF-8)", line, column)
		case r == '\n' || r == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			line, column = line+1, 0
		case r == '\t' || r == '\r':
		case isControl(r):
			return fmt.Errorf("line %d, column %d: control character %U, remove it "+
				"(a value that needs one can come from a ${VAR} or a file)", line, column, r)
		}
		i += size
		column++
	}
	return nil
}

// isControl reports the C0 and C1 control characters, DEL, and the Unicode
// line and paragraph separators, which YAML 1.1 parsers treat as line
// breaks.
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || 0x80 <= r && r <= 0x9f || r == 0x2028 || r == 0x2029
}
