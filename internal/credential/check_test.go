package credential

import (
	"context"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// TestMintedSecretsAreChecked mints, from each kind of source, secrets a
// Docker config would not keep as written: each is refused with an error
// naming the host, the source and the defect, never the value.
func TestMintedSecretsAreChecked(t *testing.T) {
	const secret = "s3cr3t-8d1f"
	cases := []struct {
		name, content, want string
	}{
		{"NUL", secret + "\x00tail", "holds a NUL byte"},
		{"LF", secret + "\nInjected: header", "holds a line break (CR or LF)"},
		{"CR", secret + "\rx", "holds a line break (CR or LF)"},
		{"escape", secret + "\x1b[31m", "holds the control character U+001B"},
		{"DEL", secret + "\x7f", "holds the control character U+007F"},
		{"C1 control", secret + "\u0085tail", "holds the control character U+0085"},
		{"invalid UTF-8", secret + "\xff\xfe", "is not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "token", "  "+tc.content+"\n")
			value := tc.content
			hosts := []struct {
				host config.Host
				src  string
			}{
				{config.Host{Host: "file.example.com", Credential: &config.Source{FromPath: "token"}}, `the token from credential.fromPath "token"`},
				{config.Host{Host: "value.example.com", Credential: &config.Source{Username: "u", Value: &value}}, "the password from credential.value"},
			}
			for _, h := range hosts {
				_, err := Resolve(context.Background(), root, h.host, Options{})
				if err == nil {
					t.Fatalf("%s: accepted", h.host.Host)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, `host "`+h.host.Host+`": `+h.src+" "+tc.want) {
					t.Errorf("err = %q, want it to name the host, %s and %q", msg, h.src, tc.want)
				}
				if strings.Contains(msg, secret) {
					t.Errorf("the error quotes the secret: %q", msg)
				}
			}
		})
	}
}

// TestProviderSecretsAreChecked shows the check also covers what a
// provider returns, not only the config's own values.
func TestProviderSecretsAreChecked(t *testing.T) {
	r := withFake(func(context.Context, tokenRequest) (token, error) { return token{value: "tok\r\nen"}, nil })
	_, err := r.resolve(context.Background(), t.TempDir(), fakeHost("ghcr.io"))
	if err == nil || !strings.Contains(err.Error(), `host "ghcr.io": the token from credential.provider "fake" holds a line break`) {
		t.Fatalf("err = %v", err)
	}
}

// TestPrintableSecretsPass keeps what real tokens hold: JWT and base64
// alphabets, spaces inside, and non-ASCII letters.
func TestPrintableSecretsPass(t *testing.T) {
	for _, s := range []string{"eyJh.eyJz.c2ln", "a+b/c=", "pass word", "pässwörd-ключ"} {
		if p := contentProblem(s); p != "" {
			t.Errorf("%q: %s", s, p)
		}
	}
}
