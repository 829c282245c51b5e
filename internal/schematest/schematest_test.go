package schematest_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/schematest"
)

// recorder is a testing.TB that keeps the failures of the checker under
// test instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// failures runs check with a recorder on its own goroutine, so a Fatalf
// ends only the check.
func failures(t *testing.T, check func(testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r.errs
}

// TestCheckTypesFindsDrift proves the checker fails for each kind of
// drift between a schema and the Go types, starting from the shipped
// v1beta1 schema, which it accepts.
func TestCheckTypesFindsDrift(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[v1beta1.Config]()
	for _, tc := range []struct {
		name  string
		edit  func(defs map[string]any)
		wants string
	}{
		{"none", func(map[string]any) {}, ""},
		{"property missing", func(d map[string]any) { delete(props(d, "Credential"), "aud") }, `Credential.Aud: no schema property "aud"`},
		{"property extra", func(d map[string]any) { props(d, "Credential")["audience"] = map[string]any{"type": "string"} }, "Credential: schema properties"},
		{"open object", func(d map[string]any) { d["Host"].(map[string]any)["additionalProperties"] = true }, "Host: schema must be a closed object"},
		{"required drift", func(d map[string]any) { d["Chart"].(map[string]any)["required"] = []any{"name"} }, "Chart: schema requires"},
		{"wrong type", func(d map[string]any) { props(d, "Selector")["limit"] = map[string]any{"type": "string"} }, `Selector.Limit: schema type "string", want integer`},
		{"enum of another type", func(d map[string]any) {
			props(d, "Artifact")["overwrite"] = map[string]any{"enum": []any{"yes"}}
		}, "Artifact.Overwrite: enum value yes is not a boolean"},
		{"bad ref", func(d map[string]any) { props(d, "Host")["tls"] = map[string]any{"$ref": "#/$defs/Nope"} }, `unresolvable $ref "#/$defs/Nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var schema map[string]any
			if err := json.Unmarshal(v1beta1.ConfigSchema, &schema); err != nil {
				t.Fatal(err)
			}
			tc.edit(schema["$defs"].(map[string]any))
			edited, err := json.Marshal(schema)
			if err != nil {
				t.Fatal(err)
			}
			errs := failures(t, func(tb testing.TB) { schematest.CheckTypes(tb, edited, v1beta1.ConfigSchemaURL, typ) })
			switch {
			case tc.wants == "" && len(errs) > 0:
				t.Errorf("unexpected failures: %q", errs)
			case tc.wants != "" && !strings.Contains(strings.Join(errs, "\n"), tc.wants):
				t.Errorf("failures %q, want one containing %q", errs, tc.wants)
			}
		})
	}
}

func props(defs map[string]any, name string) map[string]any {
	return defs[name].(map[string]any)["properties"].(map[string]any)
}

// TestCheckValuesFindsDrift proves the closed-set check fails on a
// constant the schema lacks.
func TestCheckValuesFindsDrift(t *testing.T) {
	t.Parallel()
	errs := failures(t, func(tb testing.TB) {
		schematest.CheckValues(tb, v1beta2.ConfigSchema, "/$defs/Credential/properties/type", []string{"jwt", "opaque"})
	})
	if len(errs) != 1 || !strings.Contains(errs[0], `the constants are ["jwt" "opaque"]`) {
		t.Errorf("failures %q, want one naming the constants", errs)
	}
}

// TestValidateConfigRefuses proves the shipped schemas reject what the
// loader rejects for shape: unknown fields, values outside a closed set,
// wrong types, and the other version's field names.
func TestValidateConfigRefuses(t *testing.T) {
	t.Parallel()
	const v1 = "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\n"
	const v2 = "apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\n"
	for _, tc := range []struct {
		name, doc string
		valid     bool
	}{
		{"v1beta1 host", v1 + "hosts: [{host: ghcr.io, username: u, credential: {provider: jwt-svid, aud: a}}]", true},
		{"v2 credential", v2 + "hosts: [{host: ghcr.io, credential: {type: jwt, username: u, provider: spiffe, audiences: [a, b], envelope: '{{.Token}}'}}]", true},
		{"unknown field", v1 + "hosts: [{host: ghcr.io, credentail: {fromPath: t}}]", false},
		{"unknown kind", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Configuration\n", false},
		{"unknown apiVersion", "apiVersion: mirror.plugin.fluxcd.io/v9\nkind: Config\n", false},
		{"v1beta1 provider name in v1beta2", v2 + "hosts: [{host: ghcr.io, credential: {type: jwt, provider: jwt-svid}}]", false},
		{"v1beta1 username in v1beta2", v2 + "hosts: [{host: ghcr.io, username: u, credential: {type: jwt, fromPath: t}}]", false},
		{"v1beta2 credential without type", v2 + "hosts: [{host: ghcr.io, credential: {fromPath: t}}]", false},
		{"v1beta2 empty audience", v2 + "hosts: [{host: ghcr.io, credential: {type: jwt, provider: aws, audiences: ['']}}]", false},
		{"integer as string", v1 + "hosts: [{host: ghcr.io, maxChunkSize: '4096'}]", false},
		{"negative limit", v1 + "charts: [{name: c, source: 'https://c', destination: 'oci://r', limit: -1}]", false},
		{"sortBy outside the set", v2 + "artifacts: [{source: a/b, destination: c/d, selector: {sortBy: newest}}]", false},
		{"bad duration", v1 + "hosts: [{host: h, credential: {jwkPath: k, iss: i, sub: s, exp: five minutes}}]", false},
		{"selector missing", v1 + "artifacts: [{source: a/b, destination: c/d}]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := schematest.ValidateConfig([]byte(tc.doc))
			if (err == nil) != tc.valid {
				t.Errorf("valid = %v, want %v (%v)", err == nil, tc.valid, err)
			}
		})
	}
}

// TestPlausibleValues proves a reference in an integer or boolean field
// reaches the schema as a value of that type, and one in a string field
// as written.
func TestPlausibleValues(t *testing.T) {
	t.Parallel()
	doc := []byte(`apiVersion: mirror.plugin.fluxcd.io/v1beta2
kind: Config
hosts:
  - host: ghcr.io
    maxChunkSize: ${CHUNK}
    credential: {type: jwt, value: "${TOKEN}"}
artifacts:
  - source: a/b
    destination: c/d
    selector: {limit: "${LIMIT:-2}"}
    overwrite: ${OVERWRITE}
`)
	if schematest.ValidateConfig(doc) == nil {
		t.Fatal("the schema accepts references in integer fields as written; this test proves nothing")
	}
	got, err := schematest.PlausibleValues(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := schematest.ValidateConfig(got); err != nil {
		t.Errorf("%v\n%s", err, got)
	}
	if !strings.Contains(string(got), "${TOKEN}") {
		t.Errorf("the string reference changed:\n%s", got)
	}
}
