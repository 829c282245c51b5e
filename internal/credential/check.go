package credential

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// checkContent refuses a minted secret that registries and Docker config
// readers would not see as written: invalid UTF-8 (JSON encoding replaces
// it with U+FFFD, so the stored token would differ from its source), a NUL
// (C readers stop there), a line break (it ends the header it is sent in)
// or any other control character. Every source's result passes here, so
// secret, login and sync all get the check. The error names the host's
// source and what is wrong, never the value.
func checkContent(h config.Host, c Credential) error {
	what, value := "token", c.Token
	if c.Username != "" {
		what, value = "password", c.Password
	}
	if problem := contentProblem(value); problem != "" {
		return fmt.Errorf("the %s from %s %s: refused, since it would be stored differently from its source or break the readers of the Docker config; fix the source",
			what, sourceField(h), problem)
	}
	return nil
}

// contentProblem says what makes s unfit for a Docker config, or "".
func contentProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		switch {
		case r == 0:
			return "holds a NUL byte"
		case r == '\r' || r == '\n':
			return "holds a line break (CR or LF)"
		case unicode.IsControl(r):
			return fmt.Sprintf("holds the control character %U", r)
		}
	}
	return ""
}

// sourceField names the config field a host's secret came from.
func sourceField(h config.Host) string {
	if h.Provider != "" {
		return fmt.Sprintf("provider %q", h.Provider)
	}
	c := h.Credential
	switch {
	case c == nil:
		return "no source"
	case c.Value != nil:
		return "credential.value"
	case c.FromPath != "":
		return fmt.Sprintf("credential.fromPath %q", c.FromPath)
	case c.JWKPath != "":
		return fmt.Sprintf("credential.jwkPath %q", c.JWKPath)
	case c.JWKValue != nil:
		return "credential.jwkValue"
	}
	return fmt.Sprintf("credential.provider %q", c.Provider)
}
