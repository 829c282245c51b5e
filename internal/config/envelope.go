package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"text/template"
)

// Envelope is a credential's envelope template: it wraps the minted token
// just before it is used, as a bearer token or a password, for registries
// that want it encoded ("{{.Token | base64}}") or framed.
type Envelope struct{ t *template.Template }

// envelopeFuncs are the functions an envelope may call.
var envelopeFuncs = template.FuncMap{
	"base64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"hex":    func(s string) string { return hex.EncodeToString([]byte(s)) },
}

// envelopeSample is the token the load-time check runs an envelope on.
const envelopeSample = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJmbHV4LW1pcnJvciJ9.c2FtcGxl"

// ParseEnvelope parses an envelope template. Only {{.Token}} and the
// functions base64 and hex are defined; a reference to anything else fails
// when the template runs, which checkEnvelope does at load time.
func ParseEnvelope(text string) (*Envelope, error) {
	t, err := template.New("envelope").Funcs(envelopeFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("not a valid template: %s", strings.TrimPrefix(err.Error(), "template: envelope:"))
	}
	return &Envelope{t: t}, nil
}

// Apply wraps token. Its errors never include the token.
func (e *Envelope) Apply(token string) (string, error) {
	var b strings.Builder
	if err := e.t.Execute(&b, struct{ Token string }{token}); err != nil {
		// A template run's error names the template's text and the
		// failing action, never the data.
		return "", fmt.Errorf("the template fails (%s): it may use {{.Token}} and the functions base64 and hex", strings.TrimPrefix(err.Error(), "template: "))
	}
	if b.Len() == 0 {
		return "", errors.New("the envelope template made an empty token")
	}
	return b.String(), nil
}

// checkEnvelope parses an envelope and runs it on a sample token, so that
// a template that cannot work fails at load time, naming the field.
func checkEnvelope(text string) error {
	e, err := ParseEnvelope(text)
	if err != nil {
		return err
	}
	out, err := e.Apply(envelopeSample)
	if err != nil {
		return err
	}
	if strings.ContainsAny(out, "\r\n") {
		return errors.New("the envelope makes a token with a line break, which no registry header can carry")
	}
	return nil
}
