// Package schematest holds the JSON Schemas shipped in api/ equal to the Go
// types they describe, and validates documents against them. It is the one
// checker every schema test uses (report, and config of each version).
package schematest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/internal/schemagen"
)

// node is the part of a JSON Schema object the checker reads.
type node struct {
	ID                   string           `json:"$id"`
	Ref                  string           `json:"$ref"`
	Type                 string           `json:"type"`
	Const                any              `json:"const"`
	Enum                 []any            `json:"enum"`
	Required             []string         `json:"required"`
	AdditionalProperties *bool            `json:"additionalProperties"`
	Properties           map[string]*node `json:"properties"`
	Items                *node            `json:"items"`
	Defs                 map[string]*node `json:"$defs"`
}

// checker walks a schema beside a Go type, reporting every difference.
type checker struct {
	t    testing.TB
	root *node
	seen map[reflect.Type]bool
}

// CheckTypes fails t unless schema, whose $id must be id, describes the Go
// struct type root exactly: every struct has a closed object schema whose
// properties are exactly its JSON fields, whose required keys are exactly
// the fields without omitempty, and whose property types agree with the
// Go kinds (string, integer, boolean, array, object; a const or enum
// counts as its values' type). Local "#/$defs/<name>" references are
// followed.
func CheckTypes(t testing.TB, schema []byte, id string, root reflect.Type) {
	t.Helper()
	c := &checker{t: t, seen: map[reflect.Type]bool{}}
	if err := json.Unmarshal(schema, &c.root); err != nil {
		t.Fatalf("schema %s: %v", id, err)
	}
	if c.root.ID != id {
		t.Errorf("$id = %q, want %q", c.root.ID, id)
	}
	c.checkStruct(c.root, root)
}

// resolve follows a local "#/$defs/<name>" reference.
func (c *checker) resolve(n *node) *node {
	c.t.Helper()
	if n.Ref == "" {
		return n
	}
	name, ok := strings.CutPrefix(n.Ref, "#/$defs/")
	def := c.root.Defs[name]
	if !ok || def == nil {
		c.t.Fatalf("unresolvable $ref %q", n.Ref)
	}
	return c.resolve(def)
}

func (c *checker) checkStruct(n *node, typ reflect.Type) {
	c.t.Helper()
	if c.seen[typ] {
		return
	}
	c.seen[typ] = true
	if n.Type != "object" || n.AdditionalProperties == nil || *n.AdditionalProperties {
		c.t.Errorf("%s: schema must be a closed object (type object, additionalProperties false)", typ.Name())
	}
	var fields, required []string
	for f := range typ.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields = append(fields, name)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
		prop := n.Properties[name]
		if prop == nil {
			c.t.Errorf("%s.%s: no schema property %q", typ.Name(), f.Name, name)
			continue
		}
		c.checkField(c.resolve(prop), typ.Name()+"."+f.Name, f.Type)
	}
	if got := slices.Sorted(maps.Keys(n.Properties)); !slices.Equal(got, sorted(fields)) {
		c.t.Errorf("%s: schema properties %q, Go fields %q", typ.Name(), got, sorted(fields))
	}
	if !slices.Equal(sorted(n.Required), sorted(required)) {
		c.t.Errorf("%s: schema requires %q, Go fields without omitempty are %q", typ.Name(), sorted(n.Required), sorted(required))
	}
}

func (c *checker) checkField(prop *node, at string, typ reflect.Type) {
	c.t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		c.checkStruct(prop, typ)
	case reflect.Slice:
		if prop.Type != "array" || prop.Items == nil {
			c.t.Errorf("%s: schema type %q, want an array with items", at, prop.Type)
			return
		}
		c.checkField(c.resolve(prop.Items), at+"[]", typ.Elem())
	case reflect.String:
		c.checkScalar(prop, at, "string", func(v any) bool { _, ok := v.(string); return ok })
	case reflect.Int, reflect.Int64:
		c.checkScalar(prop, at, "integer", func(v any) bool { f, ok := v.(float64); return ok && f == float64(int64(f)) })
	case reflect.Bool:
		c.checkScalar(prop, at, "boolean", func(v any) bool { _, ok := v.(bool); return ok })
	default:
		c.t.Errorf("%s: Go kind %s has no schema mapping in schematest", at, typ.Kind())
	}
}

// checkScalar accepts a matching "type", or a const or enum whose values
// all have the Go field's kind.
func (c *checker) checkScalar(prop *node, at, want string, ok func(any) bool) {
	c.t.Helper()
	values := prop.Enum
	if prop.Const != nil {
		values = append(values, prop.Const)
	}
	if prop.Type != "" && prop.Type != want {
		c.t.Errorf("%s: schema type %q, want %s", at, prop.Type, want)
		return
	}
	if prop.Type == "" && len(values) == 0 {
		c.t.Errorf("%s: schema has no type, const or enum, want %s", at, want)
	}
	for _, v := range values {
		if !ok(v) {
			c.t.Errorf("%s: enum value %v is not a %s", at, v, want)
		}
	}
}

// CheckValues fails t unless the schema node at pointer (a JSON Pointer
// such as "/$defs/Host/properties/provider", its $ref followed) allows
// exactly the strings want, as a const or an enum. It holds a schema's
// closed sets equal to the constants the code uses.
func CheckValues(t testing.TB, schema []byte, pointer string, want []string) {
	t.Helper()
	var doc any
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}
	n, err := lookup(doc, doc, pointer)
	if err != nil {
		t.Fatalf("%s: %v", pointer, err)
	}
	var got []string
	for _, v := range append(slices.Clone(asSlice(n["enum"])), n["const"]) {
		if s, ok := v.(string); ok {
			got = append(got, s)
		}
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("%s: schema allows %q, the constants are %q", pointer, sorted(got), sorted(want))
	}
}

// lookup resolves a JSON Pointer in doc and then the node's local $ref.
func lookup(root, doc any, pointer string) (map[string]any, error) {
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok || m[tok] == nil {
			return nil, fmt.Errorf("no %q in the schema", tok)
		}
		cur = m[tok]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a schema object")
	}
	if ref, ok := m["$ref"].(string); ok {
		local, found := strings.CutPrefix(ref, "#")
		if !found {
			return nil, fmt.Errorf("$ref %q is not local", ref)
		}
		return lookup(root, root, local)
	}
	return m, nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// Compile compiles schema, a draft 2020-12 JSON Schema registered under
// its $id url. Formats (date-time, uri) are asserted, not just annotated.
func Compile(url string, schema []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return c.Compile(url)
}

// Validate checks doc, one JSON or YAML document, against sch.
func Validate(sch *jsonschema.Schema, doc []byte) error {
	// JSON is YAML, so one path reads both; YAMLToJSON keeps numbers as
	// written, and UnmarshalJSON keeps them as json.Number, so an integer
	// stays an integer for the schema.
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("not JSON or YAML: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return fmt.Errorf("not JSON or YAML: %w", err)
	}
	return sch.Validate(v)
}

// CheckGenerated fails t unless shipped, a config version's embedded
// config.schema.json, is byte for byte what hack/configschema generates
// now from that version's types and doc comments. It runs in the api
// package's directory, as go test does.
func CheckGenerated(t testing.TB, version string, shipped []byte) {
	t.Helper()
	spec, err := schemagen.For(version)
	if err != nil {
		t.Fatal(err)
	}
	want, err := schemagen.Generate(spec, ".")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(shipped, want) {
		return
	}
	got, wantLines := strings.Split(string(shipped), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(got), len(wantLines)) {
		g, w := line(got, i), line(wantLines, i)
		if g != w {
			t.Errorf("api/%s/config.schema.json is stale: run go generate ./api/...\nline %d: %s\nwant:    %s", version, i+1, g, w)
			return
		}
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of file)"
}
