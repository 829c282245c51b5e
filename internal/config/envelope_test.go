package config

import (
	"strings"
	"testing"
)

// TestEnvelopeApply: what each allowed form makes of a token; the
// output is what text/template would make of the same template.
func TestEnvelopeApply(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ tmpl, want string }{
		{"{{.Token}}", "tok"},
		{"{{.Token | base64}}", "dG9r"},
		{"{{base64 .Token}}", "dG9r"},
		{"{{hex .Token}}", "746f6b"},
		{"{{.Token | base64 | hex}}", "64473972"},
		{"Basic {{ .Token | base64 }}!", "Basic dG9r!"},
		{"{{/* a comment */}}{{.Token}}{{.Token}}", "toktok"},
	} {
		e, err := ParseEnvelope(tt.tmpl)
		if err != nil {
			t.Errorf("%s: %v", tt.tmpl, err)
			continue
		}
		if got, err := e.Apply("tok"); err != nil || got != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.tmpl, got, err, tt.want)
		}
	}
	for _, bad := range []string{"{{.Token.X}}", "{{$x := .Token}}{{$x}}", "{{range .Token}}{{end}}", "{{base64}}", "{{.Token | base64 .Token}}", "{{\"lit\"}}", `{{define "x"}}y{{end}}`} {
		if _, err := ParseEnvelope(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	// An envelope that fails when it runs says so without the token.
	e, err := ParseEnvelope("{{/* nothing */}}")
	if err != nil {
		t.Fatal(err)
	}
	const token = "secret-token-8c1f"
	if _, err := e.Apply(token); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("Apply of an empty envelope: %v, want an error without the token", err)
	}
}
