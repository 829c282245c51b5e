package config

import (
	"strings"
	"testing"
)

// env is a fake environment for Options.LookupEnv.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// TestExpand covers the expander on single scalars; the forms with their
// line numbers are in TestSubstitutionForms.
func TestExpand(t *testing.T) {
	vars := env{"TOKEN": "t0ken", "EMPTY": "", "MISSING_NOT": "x", "NESTED": "${TOKEN}"}
	tests := []struct {
		name, in, out, err string
		vars               []string
	}{
		{"set", "${TOKEN}", "t0ken", "", []string{"TOKEN"}},
		{"twice", "${TOKEN}:${TOKEN}", "t0ken:t0ken", "", []string{"TOKEN"}},
		{"set but empty", "${EMPTY}", "", "", []string{"EMPTY"}},
		{"escaped", "$${TOKEN}", "${TOKEN}", "", nil},
		{"dollar dollar", "a$$b", "a$b", "", nil},
		{"bare dollar is text", "$TOKEN $ x$", "$TOKEN $ x$", "", nil},
		{"a value is not expanded again", "${NESTED}", "${TOKEN}", "", []string{"NESTED"}},
		{"an unused default is not read", "${TOKEN:-${MISSING}}", "t0ken", "", []string{"TOKEN"}},
		{"a used default is", "${EMPTY:-${TOKEN}}", "t0ken", "", []string{"EMPTY", "TOKEN"}},
		{"a message is never expanded", "${MISSING:?no ${TOKEN}}", "", "MISSING: no ${TOKEN}", nil},
		{"unset", "${MISSING}", "", "environment variable MISSING is not set: set it (empty is fine), " +
			"give a default with ${MISSING:-default}, or turn substitution off with --no-envsubst", nil},
		{"name is not a prefix", "${MISSING_NOT}${MISSING}", "", "environment variable MISSING is not set", nil},
		{"unset in a used default", "${EMPTY:-${MISSING}}", "", "environment variable MISSING is not set", nil},
		{"digit first", "${1X}", "", "${...}: this form is not supported", nil},
		{"space", "${TOKEN }", "", "${TOKEN...}: this form is not supported", nil},
		{"unclosed default", "${MISSING:-abc", "", "${MISSING:-...: no closing }", nil},
		{"deep", strings.Repeat("${A:-", 9) + strings.Repeat("}", 9), "", "references nested more than 8 deep", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &expander{lookup: vars.lookup}
			out, err := e.expand(tt.in)
			wantError(t, err, tt.err)
			if err != nil {
				if strings.Contains(err.Error(), "t0ken") {
					t.Errorf("error reveals a variable's value: %v", err)
				}
				return
			}
			if out != tt.out {
				t.Errorf("got %q, want %q", out, tt.out)
			}
			if strings.Join(e.vars, ",") != strings.Join(tt.vars, ",") {
				t.Errorf("read %v, want %v", e.vars, tt.vars)
			}
		})
	}
	t.Run("size", func(t *testing.T) {
		big := strings.Repeat("x", MaxSize)
		e := &expander{lookup: env{"BIG": big}.lookup}
		for range 4 {
			if _, err := e.expand("${BIG}"); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.expand("${BIG}")
		wantError(t, err, "${BIG}: variables add more than 1 MiB to the config")
	})
}

func TestLoadEnvsubst(t *testing.T) {
	const secret = "s3cr3t-Marker"
	vars := env{"GHCR_TOKEN": secret, "EMPTY": "", "BROKEN": "a: b: c"}
	tests := []struct {
		name       string
		doc        string
		noEnvsubst bool
		wantValue  string
		wantErr    string
	}{
		{"substituted", hostsCredential("value: ${GHCR_TOKEN}"), false, secret, ""},
		{"default", hostsCredential("value: ${MISSING:-fallback}"), false, "fallback", ""},
		{"empty variable in an optional field", hostsDoc("{host: a.io, username: '${EMPTY}', credential: {value: '${GHCR_TOKEN}'}}"), false, secret, ""},
		{"empty variable for a token", hostsCredential("value: ${EMPTY}"), false, "", "hosts[0].credential.value: the value of ${EMPTY}: must not be empty (the substitution made it empty"},
		{"unset variable", hostsCredential("value: ${MISSING}"), false, "", "line 6: environment variable MISSING is not set"},
		{"no envsubst keeps references", hostsCredential("value: ${MISSING}"), true, "${MISSING}", ""},
		{"value that was YAML", hostsCredential("value: ${BROKEN}"), false, "a: b: c", ""},
		{"unquoted in a flow mapping", hostsDoc("{host: a.io, credential: {value: ${GHCR_TOKEN}}}"), false, "",
			"did not find expected ',' or '}' (inside {...} or [...], quote a ${VAR} reference: '${VAR}')"},
		{"value in a wrong place", hostsDoc("{host: a.io, credential: {value: x, fromPath: '${GHCR_TOKEN}'}}"), false, "", "exactly one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loaded, err := Load(Options{
				Path:       Stdin,
				Stdin:      strings.NewReader(tt.doc),
				NoEnvsubst: tt.noEnvsubst,
				LookupEnv:  vars.lookup,
			})
			wantError(t, err, tt.wantErr)
			if err != nil {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error reveals a variable's value: %v", err)
				}
				return
			}
			if got := *loaded.Config.Hosts[0].Credential.Value; got != tt.wantValue {
				t.Errorf("value = %q, want %q", got, tt.wantValue)
			}
		})
	}
}

// hostsCredential is a config in block style whose one host has the given
// credential field, on line 6.
func hostsCredential(credentialField string) string {
	return header + "hosts:\n  - host: ghcr.io\n    credential:\n      " + credentialField + "\n"
}
