package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fuzz targets run on their seeds in every go test; make fuzz runs them
// longer. Crashers found are kept in testdata/fuzz.

// maxErrorLength bounds a whole error: maxShown problems and the count of
// the rest, each at most maxProblemLength, and a prefix.
const maxErrorLength = (maxShown+1)*(maxProblemLength+len("…; ")) + 200

// fuzzEnv sets the variables whose names start with A to M to value, EMPTY
// to "", and leaves every other one unset, so that both set and unset
// references are exercised.
func fuzzEnv(value string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		switch {
		case name == "EMPTY":
			return "", true
		case name != "" && 'A' <= name[0] && name[0] <= 'M':
			return value, true
		}
		return "", false
	}
}

// otherValue is a value of the same length as v that differs from it in
// every byte.
func otherValue(v string) string {
	b := []byte(v)
	for i := range b {
		b[i] = 'q'
		if v[i] == 'q' {
			b[i] = 'z'
		}
	}
	return string(b)
}

// checkNoLeak fails when err quotes value, unless value is text the error
// holds anyway: text of the config itself, or text that is also there when
// every variable has another value (such as "must be").
func checkNoLeak(t *testing.T, doc, value string, err error, again func(string) error) {
	t.Helper()
	if err == nil || len(value) < 4 || strings.Contains(doc, value) || !strings.Contains(err.Error(), value) {
		return
	}
	if other := again(otherValue(value)); other != nil && strings.Contains(other.Error(), value) {
		return
	}
	t.Fatalf("the error quotes the substituted value %q: %v", value, err)
}

// fuzzSeeds returns every YAML file under testdata directories of the
// repository and the examples.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, pattern := range []string{"testdata/*.yaml", "../*/testdata/*.yaml", "../../examples/*/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, data)
		}
	}
	if len(seeds) < 5 {
		t.Fatalf("found %d seed configs, the globs are wrong", len(seeds))
	}
	return seeds
}

func FuzzLoad(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed, "p@ss #1")
	}
	for _, doc := range []string{
		hostsCredential("value: ${A_TOKEN}"),
		hostsCredential("value: '${A_TOKEN:?no token}'"),
		hostsCredential("value: ${Z_UNSET:-${A_TOKEN}}"),
		hostsCredential("value: ${EMPTY:+x}${Z_UNSET+y}"),
		hostsDoc("{host: '${HOST}', maxChunkSize: '${CHUNK}'}"),
		hostsDoc("&h {host: '${HOST}', '${KEY}': 1}", "*h"),
		header + "kind: ${KIND}\n",
		header + "hosts: [&h {host: a.io, maxChunkSize: 1}, *h, *h]\n",
	} {
		for _, value := range []string{"S3cr3t-Marker", "x\n- host: b.io", "", "*x", "maxChunkSize", "Config"} {
			f.Add([]byte(doc), value)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte, value string) {
		load := func(value string) error {
			_, err := Load(Options{Path: Stdin, Stdin: strings.NewReader(string(doc)), LookupEnv: fuzzEnv(value)})
			return err
		}
		literal, _ := Load(Options{Path: Stdin, Stdin: strings.NewReader(string(doc)), NoEnvsubst: true})
		err := load(value)
		if err == nil {
			if literal == nil && !strings.Contains(string(doc), "$") {
				t.Fatal("a config without references loads only with substitution")
			}
			return
		}
		if n := len(err.Error()); n > maxErrorLength {
			t.Fatalf("an error of %d bytes", n)
		}
		checkNoLeak(t, string(doc), value, err, load)
	})
}

// placements put one reference where a value goes, in every scalar style
// and as text around it; want is what the field must hold.
var placements = []struct {
	field, want string
}{
	{"username: ${A}", "%s"},
	{"username: '${A}'", "%s"},
	{`username: "${A}"`, "%s"},
	{"username: |-\n    ${A}", "%s"},
	{"username: >-\n    ${A}", "%s"},
	{"username: x${A}y", "x%sy"},
	{"username: '$${A}${A}'", "${A}%s"},
	{"username: ${Z:-${A}}", "%s"},
	{"username: ${A:+[${A}]}${EMPTY:+never}", "[%s]"},
	{"username: ${A-}", "%s"},
}

func FuzzSubstitute(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(string(seed), "p@ss #1")
	}
	for _, value := range []string{"p@ss #1", "!abc x", "  padded  ", "null", "~", "*x", "&x", "a: b",
		"x\n- host: evil.io", "${A}", "$${A}", "'\"", "\x00\x1b", "\xff", ""} {
		f.Add("${A:-x}${EMPTY:?set}${Z+y}", value)
	}
	f.Fuzz(func(t *testing.T, template, value string) {
		// A template alone: expanding is total, reads only the
		// variables it names and never quotes a value in an error.
		e := &expander{lookup: fuzzEnv(value)}
		out, err := e.expand(template)
		if err == nil && !strings.Contains(template, "$") && out != template {
			t.Fatalf("text without references changed: %q -> %q", template, out)
		}
		checkNoLeak(t, template, value, err, func(other string) error {
			_, err := (&expander{lookup: fuzzEnv(other)}).expand(template)
			return err
		})

		// The value in every scalar style arrives byte for byte and
		// adds nothing to the document.
		for _, p := range placements {
			doc := header + "hosts:\n- host: a.io\n  " + p.field + "\n  credential:\n    value: x\n"
			loaded, err := Load(Options{Path: Stdin, Stdin: strings.NewReader(doc), LookupEnv: fuzzEnv(value)})
			if err != nil {
				t.Fatalf("%s: %v", p.field, err)
			}
			want := strings.ReplaceAll(p.want, "%s", value)
			if value == "" && strings.Contains(p.field, ":+") {
				want = ""
			}
			if hosts := loaded.Config.Hosts; len(hosts) != 1 || hosts[0].Credential.Username != want || *hosts[0].Credential.Value != "x" {
				t.Fatalf("%s: got %+v, want username %q", p.field, hosts, want)
			}
		}
	})
}
