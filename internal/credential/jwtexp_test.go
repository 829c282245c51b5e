package credential

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
)

func TestJWTExpiry(t *testing.T) {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	head := seg(`{"alg":"RS256"}`)
	cases := map[string]time.Time{
		head + "." + seg(`{"exp":1893456000,"sub":"x"}`) + ".sig": time.Unix(1893456000, 0),
		head + "." + seg(`{"exp":1893456000.5}`) + ".":            time.Unix(1893456000, 0),
		head + "." + seg(`{"sub":"no exp"}`) + ".sig":             {},
		head + "." + seg(`{"exp":"soon"}`) + ".sig":               {},
		"not-a-jwt":       {},
		"a.b.c":           {},
		head + ".!!!.sig": {},
	}
	for tok, want := range cases {
		if got := JWTExpiry(tok); !got.Equal(want) {
			t.Errorf("JWTExpiry(%q) = %v, want %v", tok, got, want)
		}
	}
}

// TestEnvelopeKeepsTheExpiry: a JWT from credential.value still tells its
// expiry when an envelope hides it from the reader of the result.
func TestEnvelopeKeepsTheExpiry(t *testing.T) {
	seg := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	jwt := seg(`{"alg":"RS256"}`) + "." + seg(`{"exp":1893456000}`) + ".sig"
	h := config.Host{Host: "r.example", Credential: &config.Source{Value: &jwt, Envelope: "{{.Token | base64}}"}}
	c, err := Resolve(context.Background(), t.TempDir(), h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != base64.StdEncoding.EncodeToString([]byte(jwt)) {
		t.Errorf("token is not the enveloped JWT")
	}
	if !c.ExpiresAt.Equal(time.Unix(1893456000, 0)) {
		t.Errorf("ExpiresAt = %v, want the JWT's exp", c.ExpiresAt)
	}
}
