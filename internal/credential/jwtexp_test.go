package credential

import (
	"encoding/base64"
	"testing"
	"time"
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
