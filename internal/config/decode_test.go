package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
)

// header starts every test document.
const header = "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\n"

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wantError fails unless err is nil when want is empty, or holds want.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func TestDecodeFull(t *testing.T) {
	cfg, err := Decode(readTestdata(t, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(cfg); err != nil {
		t.Fatal(err)
	}
	if got := len(cfg.Hosts); got != 5 {
		t.Fatalf("got %d hosts, want 5", got)
	}
	jwk := cfg.Hosts[2].Credential
	if jwk.JWKPath != "keys/privkey.json" || jwk.Exp != "5m" || jwk.Iss != "https://issuer.example.com" {
		t.Errorf("credential = %+v", jwk)
	}
	if got := cfg.Hosts[4].MaxChunkSize; got == nil || *got != 4096 {
		t.Errorf("maxChunkSize = %v, want 4096", got)
	}
	sel := cfg.Artifacts[0].Selector
	if sel.Regex.Extract != "$1" || sel.Limit == nil || *sel.Limit != 3 || !cfg.Artifacts[0].IncludeReferrers {
		t.Errorf("artifact = %+v, selector = %+v", cfg.Artifacts[0], sel)
	}
	if c := cfg.Charts[0]; c.Limit == nil || *c.Limit != 0 || !c.Overwrite || c.Version != "6.x" {
		t.Errorf("chart = %+v", c)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"empty", "", "empty document (a config needs at least apiVersion and kind)"},
		{"only comments", "# nothing here\n", "empty document (a config needs at least apiVersion and kind)"},
		{"null document", "~\n", "empty document (a config needs at least apiVersion and kind)"},
		{"list at top level", "- a\n", "line 1: the top level must be a mapping (apiVersion, kind, hosts, ...), got a list"},
		{"string at top level", "hello\n", "got a string"},
		{"two documents", header + "---\n" + header, "line 3: a second YAML document"},
		{"trailing separator is fine", header + "---\n", ""},
		{"syntax error", header + "hosts: [\n", "invalid YAML: line 3"},
		{"tab indentation", header + "hosts:\n\t- host: a\n", "invalid YAML: line 4"},
		{"unknown top-level field", header + "host: []\n", `line 3: host: unknown field (did you mean "hosts"?)`},
		{"unknown field lists the known ones", header + "hosts:\n- {host: a.io, zzz: 1}\n",
			"line 4: hosts[0].zzz: unknown field (expected one of host, provider, username, credential, tls, maxChunkSize)"},
		{"unknown nested field", header + "hosts:\n- host: a.io\n- host: b.io\n- host: c.io\n  credential:\n    fromPath: t\n    audience: x\n",
			"line 9: hosts[2].credential.audience: unknown field"},
		{"field names are case-sensitive", header + "hosts:\n- {Host: a.io}\n", `hosts[0].Host: unknown field (did you mean "host"?)`},
		{"duplicate top-level key", header + "kind: Config\n", "line 3: kind: duplicate key (first set on line 2)"},
		{"duplicate nested key", header + "hosts:\n- host: a.io\n  credential: {value: x, value: y}\n",
			"line 5: hosts[0].credential.value: duplicate key (first set on line 5)"},
		{"string for an integer", header + "hosts:\n- {host: a.io, maxChunkSize: \"5\"}\n",
			"line 4: hosts[0].maxChunkSize: expected an integer, got a string"},
		{"fraction for an integer", header + "charts:\n- {limit: 1.5}\n", "charts[0].limit: expected an integer, got a number"},
		{"string for a boolean", header + "artifacts:\n- {overwrite: maybe}\n", "artifacts[0].overwrite: expected true or false, got a string"},
		{"mapping for a string", header + "hosts:\n- host: {name: a.io}\n", "line 4: hosts[0].host: expected a string, got a mapping"},
		{"list for a mapping", header + "hosts:\n- credential: []\n", "hosts[0].credential: expected a mapping, got a list"},
		{"mapping for a list", header + "hosts: {host: a.io}\n", "line 3: hosts: expected a list, got a mapping"},
		{"non-string key", header + "hosts:\n- {[a]: b}\n", "hosts[0]: a key must be a string, got a list"},
		{"merge key", header + "hosts:\n- <<: {host: a.io}\n", "line 4: hosts[0]: merge keys (<<) are not supported"},
		{"wrong apiVersion only", "apiVersion: v1\nkind: Config\nspec: {}\n", `line 1: apiVersion: must be mirror.plugin.fluxcd.io/v1beta2 (or the deprecated mirror.plugin.fluxcd.io/v1beta1), got "v1"`},
		{"wrong kind only", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Secret\ndata: {}\n", `line 2: kind: must be Config, got "Secret"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.doc))
			wantError(t, err, tt.want)
		})
	}
}

func TestDecodeReportsEveryProblemOnOneLine(t *testing.T) {
	_, err := Decode(readTestdata(t, "duplicate-key.yaml"))
	wantError(t, err, "line 7: hosts[0].host: duplicate key (first set on line 4)")

	doc := header + "hosts:\n- {host: a.io, foo: 1}\n- {host: b.io, bar: 2}\n"
	_, err = Decode([]byte(doc))
	want := "line 4: hosts[0].foo: unknown field"
	wantError(t, err, want)
	wantError(t, err, "; line 5: hosts[1].bar: unknown field")
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
}

func TestDecodeScalars(t *testing.T) {
	doc := header + `hosts:
- host: a.io
  username: 0123
  credential: {value: ''}
- host: b.io
  credential: {jwkValue: "", iss: yes, sub: 1e3}
- &c {host: c.io, maxChunkSize: 0x10}
- host: d.io
  credential: {fromPath: ""}
  tls:
`
	cfg, err := Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Hosts
	if h[0].Username != "0123" {
		t.Errorf("username = %q, want the text as written", h[0].Username)
	}
	if v := h[0].Credential.Value; v == nil || *v != "" {
		t.Errorf("value = %v, want set and empty", v)
	}
	if v := h[1].Credential.JWKValue; v == nil || *v != "" {
		t.Errorf("jwkValue = %v, want set and empty", v)
	}
	if h[1].Credential.Iss != "yes" || h[1].Credential.Sub != "1e3" {
		t.Errorf("claims = %q, %q", h[1].Credential.Iss, h[1].Credential.Sub)
	}
	if n := h[2].MaxChunkSize; n == nil || *n != 16 {
		t.Errorf("maxChunkSize = %v, want 16", n)
	}
	if h[3].TLS != nil || h[3].Credential == nil || h[3].Credential.FromPath != "" {
		t.Errorf("host d = %+v", h[3])
	}
}

func TestDecodeAliases(t *testing.T) {
	doc := header + "hosts:\n- &a {host: a.io, provider: ecr}\n- *a\n"
	cfg, err := Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hosts) != 2 || cfg.Hosts[1] != (v1beta1.Host{Host: "a.io", Provider: "ecr"}) {
		t.Errorf("hosts = %+v", cfg.Hosts)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"credentail", "credential", 1},
		{"", "abc", 3},
		{"host", "hosts", 1},
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
