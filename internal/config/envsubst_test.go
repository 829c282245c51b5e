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

func TestSubstitute(t *testing.T) {
	vars := env{"TOKEN": "t0ken", "EMPTY": "", "MISSING_NOT": "x"}
	tests := []struct {
		name, in, out, err string
	}{
		{"set", "value: ${TOKEN}", "value: t0ken", ""},
		{"set but empty", "value: '${EMPTY}'", "value: ''", ""},
		{"default for unset", "value: ${MISSING:-fallback}", "value: fallback", ""},
		{"default for empty", "value: ${EMPTY:-fallback}", "value: fallback", ""},
		{"escaped", "value: $${TOKEN}", "value: ${TOKEN}", ""},
		{"bare dollar is text", "value: $TOKEN", "value: $TOKEN", ""},
		{"in a key", "${EMPTY}host: x", "host: x", ""},
		{"unset", "a: 1\nb: ${TOKEN}\nvalue: ${MISSING}\n", "",
			"line 3: environment variable MISSING is not set: set it (empty is fine), give a default with ${MISSING:-default}, or turn substitution off with --no-envsubst"},
		{"line of the unset name, not a longer one", "a: ${MISSING_NOT}\nb: ${MISSING}\n", "", "line 2: environment variable MISSING is not set"},
		{"unset after a default", "a: ${OTHER:-x}\nb: ${MISSING}\n", "", "environment variable MISSING is not set"},
		{"unset in a transformation", "a: ${MISSING^^}\n", "", "environment variable MISSING is not set"},
		{"bad substitution", "a: ${}\n", "", "environment substitution: unable to parse variable name (write a literal ${ as $${)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := substitute(tt.in, vars.lookup)
			wantError(t, err, tt.err)
			if err == nil && out != tt.out {
				t.Errorf("got %q, want %q", out, tt.out)
			}
			if err != nil && strings.Contains(err.Error(), "t0ken") {
				t.Errorf("error reveals a variable's value: %v", err)
			}
		})
	}
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
		{"empty variable in an optional field", hostsDoc("{host: a.io, username: '${EMPTY}', credential: {value: ${GHCR_TOKEN}}}"), false, secret, ""},
		{"empty variable for a token", hostsCredential("value: ${EMPTY}"), false, "", "hosts[0].credential.value: must not be empty (if it is a ${VAR} reference, the variable is set but empty)"},
		{"unset variable", hostsCredential("value: ${MISSING}"), false, "", "line 6: environment variable MISSING is not set"},
		{"no envsubst keeps references", hostsCredential("value: ${MISSING}"), true, "${MISSING}", ""},
		{"value breaking the YAML", hostsCredential("value: ${BROKEN}"), false, "", "invalid YAML: line 6"},
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
