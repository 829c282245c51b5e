package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The tests in this file replay the bad inputs of issue 9 through Load, the
// way the CLI reads a config.

// loadDoc loads doc from "standard input" with vars as the environment.
func loadDoc(doc string, vars env) (*Loaded, error) {
	return Load(Options{Path: Stdin, Stdin: strings.NewReader(doc), LookupEnv: vars.lookup})
}

// TestSubstitutionKeepsValuesExact puts values that mean something to YAML
// into every scalar style: each must arrive byte for byte, as a string, and
// never add structure.
func TestSubstitutionKeepsValuesExact(t *testing.T) {
	values := map[string]string{
		"comment":         "p@ss #1",
		"tag":             "!abc x",
		"spaces":          "  padded  ",
		"null":            "null",
		"tilde":           "~",
		"alias":           "*x",
		"anchor":          "&x",
		"colon":           "a: b",
		"quotes":          `"it's"`,
		"flow":            "{a: [b]}",
		"newline":         "line1\nline2",
		"trailing break":  "x\n",
		"number":          "0x1F",
		"boolean":         "yes",
		"dollar":          "pa$$w${rd}",
		"adds a host":     "x\n  - host: evil.example.com\n    credential:\n      value: y",
		"adds a key":      "x\n      username: intruder",
		"document":        "x\n---\napiVersion: v1",
		"multi-line PEM":  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		"unicode":         "pässwört ✓",
		"backslash":       `a\nb\"c`,
		"leading dash":    "- item",
		"percent":         "%TAG ! x",
		"empty-looking":   "''",
		"merge":           "<<",
		"only whitespace": " \t ",
	}
	styles := []struct{ name, field, prefix, suffix string }{
		{"plain", "value: ${TOKEN}", "", ""},
		{"single quoted", "value: '${TOKEN}'", "", ""},
		{"double quoted", `value: "${TOKEN}"`, "", ""},
		{"literal block", "value: |-\n        ${TOKEN}", "", ""},
		{"inside text", "value: pre-${TOKEN}-post", "pre-", "-post"},
	}
	for name, value := range values {
		for _, style := range styles {
			t.Run(name+"/"+style.name, func(t *testing.T) {
				loaded, err := loadDoc(hostsCredentialUser(style.field), env{"TOKEN": value})
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				hosts := loaded.Config.Hosts
				if len(hosts) != 1 || hosts[0].Credential.Username != "robot" {
					t.Fatalf("the value changed the document: %d hosts, username %q", len(hosts), hosts[0].Credential.Username)
				}
				want := style.prefix + value + style.suffix
				if got := *hosts[0].Credential.Value; got != want {
					t.Errorf("value = %q, want %q", got, want)
				}
			})
		}
	}
}

// hostsCredentialUser is a block-style config whose one host has username
// robot and the given credential field on line 7.
func hostsCredentialUser(credentialField string) string {
	return header + "hosts:\n  - host: ghcr.io\n    username: robot\n    credential:\n      " + credentialField + "\n"
}

// TestSubstitutionInKeysAndOtherTypes covers keys, integers and the escape.
func TestSubstitutionInKeysAndOtherTypes(t *testing.T) {
	tests := []struct {
		name       string
		doc        string
		vars       env
		noEnvsubst bool
		check      func(*Loaded) string
		err        string
	}{
		{"a key", hostsDoc("{host: a.io, '${FIELD}': 5}"), env{"FIELD": "maxChunkSize"}, false,
			func(l *Loaded) string { return fmt.Sprint(l.Config.Hosts[0].MaxChunkSize) }, ""},
		{"a key colliding with another", header + "hosts:\n- host: a.io\n  maxChunkSize: 1\n  ${FIELD}: 2\n",
			env{"FIELD": "maxChunkSize"}, false, nil, "line 6: hosts[0].maxChunkSize: duplicate key (first set on line 5)"},
		{"an integer", header + "hosts:\n- host: a.io\n  maxChunkSize: ${SIZE}\n", env{"SIZE": "4096"}, false,
			func(l *Loaded) string { return fmt.Sprint(l.Config.Hosts[0].MaxChunkSize) }, ""},
		{"an integer with a comment", header + "hosts:\n- host: a.io\n  maxChunkSize: ${SIZE}\n", env{"SIZE": "4096 # KiB"}, false,
			nil, "line 5: hosts[0].maxChunkSize: the value of ${SIZE}: expected an integer"},
		{"escaped reference", hostsCredential("value: $${TOKEN}"), env{}, false,
			func(l *Loaded) string { return *l.Config.Hosts[0].Credential.Value }, "${TOKEN}"},
		{"no envsubst keeps it literal", hostsCredential("value: ${TOKEN:?x}"), env{}, true,
			func(l *Loaded) string { return *l.Config.Hosts[0].Credential.Value }, "${TOKEN:?x}"},
		{"no envsubst keeps the escape", hostsCredential("value: $${TOKEN}"), env{}, true,
			func(l *Loaded) string { return *l.Config.Hosts[0].Credential.Value }, "$${TOKEN}"},
		{"a list", header + "hosts: ${HOSTS}\n", env{"HOSTS": "[{host: a.io, maxChunkSize: 1}]"}, false,
			nil, "line 3: hosts: the value of ${HOSTS}: expected a list, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loaded, err := Load(Options{Path: Stdin, Stdin: strings.NewReader(tt.doc),
				LookupEnv: tt.vars.lookup, NoEnvsubst: tt.noEnvsubst})
			if tt.check != nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := tt.check(loaded); tt.err != "" && got != tt.err {
					t.Errorf("got %q, want %q", got, tt.err)
				}
				return
			}
			wantError(t, err, tt.err)
		})
	}
}

// TestSubstitutionForms gives each accepted ${...} form its shell meaning
// and refuses the others by the variable's name.
func TestSubstitutionForms(t *testing.T) {
	vars := env{"SET": "set-value", "EMPTY": ""}
	tests := []struct{ ref, want, err string }{
		{"${SET}", "set-value", ""},
		{"${EMPTY}", "", ""},
		{"${UNSET}", "", "line 5: environment variable UNSET is not set"},
		{"${SET:-d}", "set-value", ""},
		{"${EMPTY:-d}", "d", ""},
		{"${UNSET:-d}", "d", ""},
		{"${SET-d}", "set-value", ""},
		{"${EMPTY-d}", "", ""},
		{"${UNSET-d}", "d", ""},
		{"${UNSET:-${SET}}", "set-value", ""},
		{"${UNSET:-}", "", ""},
		{"${SET:?needs a token}", "set-value", ""},
		{"${EMPTY:?needs a token}", "", "line 5: EMPTY: needs a token"},
		{"${UNSET:?needs a token}", "", "line 5: UNSET: needs a token"},
		{"${UNSET:?}", "", "line 5: environment variable UNSET is not set or empty"},
		{"${SET?needs a token}", "set-value", ""},
		{"${EMPTY?needs a token}", "", ""},
		{"${UNSET?needs a token}", "", "line 5: UNSET: needs a token"},
		{"${SET:+alt}", "alt", ""},
		{"${EMPTY:+alt}", "", ""},
		{"${UNSET:+alt}", "", ""},
		{"${SET+alt}", "alt", ""},
		{"${EMPTY+alt}", "alt", ""},
		{"${UNSET+alt}", "", ""},
		{"${SET^^}", "", "line 5: ${SET^^...}: this form is not supported"},
		{"${#SET}", "", "line 5: ${#...}: this form is not supported"},
		{"${SET:=x}", "", "line 5: ${SET:=...}: this form is not supported"},
		{"${SET:1}", "", "line 5: ${SET:...}: this form is not supported"},
		{"${SET/a/b}", "", "line 5: ${SET/...}: this form is not supported"},
		{"${}", "", "line 5: ${}: a variable name is missing"},
		{"${SET", "", "line 5: ${SET...: no closing }"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			doc := header + "hosts:\n- host: a.io\n  username: '" + tt.ref + "'\n  credential: {value: x}\n"
			loaded, err := loadDoc(doc, vars)
			wantError(t, err, tt.err)
			if err == nil && loaded.Config.Hosts[0].Credential.Username != tt.want {
				t.Errorf("got %q, want %q", loaded.Config.Hosts[0].Credential.Username, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "set-value") {
				t.Errorf("error reveals a value: %v", err)
			}
		})
	}
}

// TestControlCharacters refuses bytes that YAML would drop or stop at.
func TestControlCharacters(t *testing.T) {
	tests := []struct{ name, doc, err string }{
		{"NUL ends nothing", header + "hosts:\n- host: a.io\n  maxChunkSize: 1\x00\n- host: b.io\n  maxChunkSize: 1\n",
			"line 5, column 18: control character U+0000"},
		{"NUL in a value", header + "hosts:\n- host: a.io\n  credential: {value: ab\x00cd}\n",
			"line 5, column 25: control character U+0000"},
		{"escape", header + "\x1b[31m", "line 3, column 1: control character U+001B"},
		{"delete", header + "kind: \x7f", "line 3, column 7: control character U+007F"},
		{"C1 next line", header + "kind: a\u0085b", "line 3, column 8: control character U+0085"},
		{"invalid UTF-8", header + "kind: \xff\xfe", "line 3, column 7: invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadDoc(tt.doc, env{})
			wantError(t, err, tt.err)
		})
	}
	t.Run("tab and CRLF are text", func(t *testing.T) {
		doc := strings.ReplaceAll(hostsCredential("value: 'a\tb'"), "\n", "\r\n")
		loaded, err := loadDoc(doc, env{})
		if err != nil {
			t.Fatal(err)
		}
		if got := *loaded.Config.Hosts[0].Credential.Value; got != "a\tb" {
			t.Errorf("value = %q", got)
		}
	})
}

// TestErrorsNameTheVariable checks that a substituted value that is wrong
// where it lands is reported by its variable, never quoted.
func TestErrorsNameTheVariable(t *testing.T) {
	const secret = "S3cr3t-Marker"
	tests := []struct{ name, doc, value, err string }{
		{"kind", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: ${V}\n", secret,
			"line 2: kind: the value of ${V}: must be Config"},
		{"apiVersion", "apiVersion: ${V}\nkind: Config\n", secret,
			"line 1: apiVersion: the value of ${V}: must be mirror.plugin.fluxcd.io/v1beta2 (or the deprecated mirror.plugin.fluxcd.io/v1beta1)"},
		{"unknown key", hostsDoc("{host: a.io, maxChunkSize: 1, '${V}': x}"), secret,
			"line 4: hosts[0].${V}: unknown field"},
		{"registry provider", hostsDoc("{host: a.io, provider: '${V}'}"), secret,
			"line 4: hosts[0].provider: the value of ${V}: unknown provider"},
		{"credential provider", hostsDoc("{host: a.io, credential: {provider: '${V}'}}"), secret,
			"line 4: hosts[0].credential.provider: the value of ${V}: unknown provider"},
		{"host", hostsDoc("{host: '${V}', maxChunkSize: 1}"), "https://" + secret,
			"line 4: hosts[0].host: the value of ${V}: remove the scheme"},
		{"host in text", hostsDoc("{host: 'r.${V}.io', maxChunkSize: 1}"), secret,
			"line 4: hosts[0].host: the value of ${V}: must be lowercase"},
		{"duplicate host", hostsDoc("{host: '${V}', maxChunkSize: 1}", "{host: '${V}', maxChunkSize: 2}"), "s3cr3t.io",
			`line 5: hosts[1].host: the value of ${V}: "…" is the same registry as hosts[0] ("…")`},
		{"an alias name", hostsDoc("{host: a.io, credential: {value: *${V}}}"), secret,
			"invalid YAML: line 4: "},
		{"trust domain", tlsDoc("serverAuth: {spiffe: {trustDomain: '${V}'}}"), "Bad/" + secret,
			"the value of ${V}: invalid character"},
		{"PEM type", tlsDoc("serverAuth: {value: '${V}'}"), "-----BEGIN " + secret + "-----\nAA==\n-----END " + secret + "-----\n",
			"the value of ${V}: holds a PEM block of type"},
		{"regex", selectorDoc("regex: {pattern: '${V}'}"), secret + "(", "the value of ${V}: not a valid regular expression"},
		{"repository", artifactDoc("source: '${V}', destination: b.io/x, selector: {semver: '>=1'}"), secret + "@sha256:x", "the value of ${V}: must be a repository without a digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadDoc(tt.doc, env{"V": tt.value})
			wantError(t, err, tt.err)
			if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) {
				t.Errorf("error reveals the value: %v", err)
			}
		})
	}
}

// hostsConfig lists n hosts in flow style.
func hostsConfig(n int) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, header+"hosts:\n")
		for i := range n {
			fmt.Fprintf(w, "- {host: h%d.example.com, maxChunkSize: 1}\n", i)
		}
	}
}

// aliasesConfig lists a host and n aliases of it.
func aliasesConfig(n int) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, header+"hosts: [&h {host: a.io, maxChunkSize: 1}")
		for range n {
			io.WriteString(w, ", *h")
		}
		io.WriteString(w, "]\n")
	}
}

// nestedConfig repeats a list of n items through n aliases of it.
func nestedConfig(n int) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, header+"artifacts:\n- {source: a.io/x, destination: b.io/x, selector: {}, verify: "+
			"{provider: cosign, matchOIDCIdentity: &ids ["+strings.Repeat("{issuer: i, subject: s}, ", n)+"]}}\n")
		for range n {
			io.WriteString(w, "- {source: a.io/x, destination: b.io/x, selector: {}, verify: {provider: cosign, matchOIDCIdentity: *ids}}\n")
		}
	}
}

// paddingConfig is a config of 50 MB of comments.
func paddingConfig(w io.Writer) {
	io.WriteString(w, header)
	for range 50 << 20 / 34 {
		io.WriteString(w, "# padding padding padding padding\n")
	}
}

// tinyConfig fills a config up to MaxSize with the smallest YAML values,
// the most nodes the parser can be made to hold.
func tinyConfig(w io.Writer) {
	io.WriteString(w, header+"hosts: [")
	io.WriteString(w, strings.Repeat("1,", (MaxSize-len(header)-len("hosts: []\n"))/2))
	io.WriteString(w, "]\n")
}

// sameHostConfig lists one host a thousand times.
func sameHostConfig(w io.Writer) {
	hostsConfig(0)(w)
	io.WriteString(w, strings.Repeat("- {host: a.io}\n", 1000))
}

// TestBoundedInputs feeds inputs that used to take hundreds of megabytes or
// print megabytes; each must end in one short error. The inputs are written
// to files and never held in memory, so that
//
//	go test -c -o /tmp/config.test ./internal/config/ &&
//	/usr/bin/time -v /tmp/config.test -test.run 'TestBoundedInputs/50_MB' -test.v
//
// measures what Load takes (maximum resident set size). The bytes allocated
// are printed, not asserted.
// maxLoadAlloc bounds what Load may allocate on any input: the tests run
// one after another, so TotalAlloc counts this Load alone.
const maxLoadAlloc = 96 << 20

func TestBoundedInputs(t *testing.T) {
	tests := []struct {
		name  string
		write func(io.Writer)
		err   string
	}{
		{"50 MB", paddingConfig, "larger than 256 KiB"},
		{"800k hosts", hostsConfig(800_000), "larger than 256 KiB"},
		{"200k alias references", aliasesConfig(200_000), "larger than 256 KiB"},
		{"1500 alias references to 1500 items", nestedConfig(1_500), "aliases expand to more than 100000 values"},
		{"many problems", sameHostConfig, "; and 1979 more problems"},
		{"MaxSize of tiny values", tinyConfig, "entries, more than the 10000 allowed"},
		{"5k hosts", hostsConfig(5_000), ""},
		{"10001 aliased hosts", aliasesConfig(10_000), "line 3: hosts: 10001 entries, more than the 10000 allowed"},
		{"10000 aliased hosts", aliasesConfig(9_999), "line 3: hosts[1].host: \"a.io\" is the same registry as hosts[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mirror.yaml")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w := bufio.NewWriter(f)
			tt.write(w)
			if err := errors.Join(w.Flush(), f.Close()); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err = Load(Options{Path: path, LookupEnv: env{}.lookup})
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("config of %d bytes: Load allocated %.1f MB; error of %d bytes",
				info.Size(), float64(alloc)/(1<<20), len(fmt.Sprint(err)))
			// The largest input allowed allocates about 30 MB; the old
			// loader took 650 MB to 5.4 GB on these inputs.
			if alloc > maxLoadAlloc {
				t.Errorf("Load allocated %d MB, want at most %d MB", alloc>>20, maxLoadAlloc>>20)
			}
			wantError(t, err, tt.err)
			if err != nil && len(err.Error()) > maxErrorLength {
				t.Errorf("error of %d bytes, want at most a screenful", len(err.Error()))
			}
		})
	}
}

// TestNullIsNotAnEmptyVariable: a null written in the config is reported as
// null, and only a substituted empty value blames the variable.
func TestNullIsNotAnEmptyVariable(t *testing.T) {
	tests := []struct{ name, field, err string }{
		{"null", "value: null", "line 6: hosts[0].credential.value: is null"},
		{"tilde", "value: ~", "line 6: hosts[0].credential.value: is null"},
		{"nothing", "value:", "line 6: hosts[0].credential.value: is null"},
		{"an anchor alone", "value: &x", "line 6: hosts[0].credential.value: is null"},
		{"written empty", "value: ''", "line 6: hosts[0].credential.value: must not be empty"},
		{"empty variable", "value: ${EMPTY}", "line 6: hosts[0].credential.value: the value of ${EMPTY}: must not be empty (the substitution made it empty"},
		{"empty jwkValue", "jwkValue: ${EMPTY}\n      iss: i\n      sub: s", "line 6: hosts[0].credential.jwkValue: the value of ${EMPTY}: must not be empty (the substitution made it empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadDoc(hostsCredential(tt.field), env{"EMPTY": ""})
			wantError(t, err, tt.err)
			if tt.name != "empty variable" && tt.name != "empty jwkValue" && strings.Contains(err.Error(), "set but empty") {
				t.Errorf("blames a variable that is not there: %v", err)
			}
		})
	}
}
