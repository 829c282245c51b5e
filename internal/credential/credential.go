// Package credential turns the hosts of a flux-mirror config into the
// credentials written to a Docker config: a username/password pair or a
// bearer token per host, minted fresh on every run.
//
// Resolve and ResolveAll are the entry points. Each way of getting a secret
// (an inline value, a file, a signed JWT, later the cloud and CI identity
// providers) is one source in its own file, listed in the tables of
// resolve.go.
package credential

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Credential is what one host resolved to: either a Username/Password pair
// or a bearer Token.
//
// Printing a Credential with any fmt verb or logging it with log/slog shows
// its host, kind and expiry, never its Password or Token.
type Credential struct {
	// Host is the config's host, as written.
	Host string
	// Username, when set, makes this a username/password pair.
	Username string
	// Password is the secret of a username/password pair.
	Password string
	// Token is a bearer token; set when Username is empty.
	Token string
	// ExpiresAt is when the secret stops working; zero when unknown.
	ExpiresAt time.Time
}

// kind tells a username/password pair from a bearer token.
func (c Credential) kind() string {
	if c.Username != "" {
		return "basic"
	}
	return "bearer"
}

// String describes the credential without its secret, as
// credential{host=ghcr.io, kind=bearer, expires=2026-11-27T10:00:00Z}.
func (c Credential) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "credential{host=%s, kind=%s, expires=", c.Host, c.kind())
	if c.ExpiresAt.IsZero() {
		b.WriteString("unknown")
	} else {
		b.WriteString(c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	b.WriteString("}")
	return b.String()
}

// Format prints String for every verb (%q quotes it), so that no verb, not
// even %#v or %x, reaches the secret fields.
func (c Credential) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	fmt.Fprint(f, c.String())
}

// LogValue logs the credential as String, for log/slog handlers that would
// otherwise walk its fields.
func (c Credential) LogValue() slog.Value {
	return slog.StringValue(c.String())
}
