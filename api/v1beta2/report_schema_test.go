package v1beta2

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// schemaNode is the part of a JSON Schema object the tests read.
type schemaNode struct {
	ID                   string                 `json:"$id"`
	Ref                  string                 `json:"$ref"`
	Type                 string                 `json:"type"`
	Const                any                    `json:"const"`
	Enum                 []any                  `json:"enum"`
	Required             []string               `json:"required"`
	AdditionalProperties *bool                  `json:"additionalProperties"`
	Properties           map[string]*schemaNode `json:"properties"`
	Items                *schemaNode            `json:"items"`
	Defs                 map[string]*schemaNode `json:"$defs"`
}

func loadSchema(t *testing.T) *schemaNode {
	t.Helper()
	var root schemaNode
	if err := json.Unmarshal(ReportSchema, &root); err != nil {
		t.Fatalf("report.schema.json: %v", err)
	}
	return &root
}

// resolve follows a local "#/$defs/<name>" reference.
func resolve(t *testing.T, root, n *schemaNode) *schemaNode {
	t.Helper()
	if n.Ref == "" {
		return n
	}
	name, ok := strings.CutPrefix(n.Ref, "#/$defs/")
	def := root.Defs[name]
	if !ok || def == nil {
		t.Fatalf("unresolvable $ref %q", n.Ref)
	}
	return resolve(t, root, def)
}

// TestSchemaMatchesTypes holds report.schema.json equal to the Go types:
// every struct has a closed object schema whose properties are exactly its
// JSON fields, whose required keys are exactly the fields without
// omitempty, and whose property types agree with the Go kinds.
func TestSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	root := loadSchema(t)
	if root.ID != ReportSchemaURL {
		t.Errorf("$id = %q, want ReportSchemaURL %q", root.ID, ReportSchemaURL)
	}
	checkStruct(t, root, root, reflect.TypeFor[Report](), map[reflect.Type]bool{})
}

func checkStruct(t *testing.T, root, n *schemaNode, typ reflect.Type, seen map[reflect.Type]bool) {
	t.Helper()
	if seen[typ] {
		return
	}
	seen[typ] = true
	if n.Type != "object" || n.AdditionalProperties == nil || *n.AdditionalProperties {
		t.Errorf("%s: schema must be a closed object (type object, additionalProperties false)", typ.Name())
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
			t.Errorf("%s.%s: no schema property %q", typ.Name(), f.Name, name)
			continue
		}
		checkField(t, root, resolve(t, root, prop), typ.Name()+"."+f.Name, f.Type, seen)
	}
	if got := slices.Sorted(maps.Keys(n.Properties)); !slices.Equal(got, sorted(fields)) {
		t.Errorf("%s: schema properties %q, Go fields %q", typ.Name(), got, sorted(fields))
	}
	if !slices.Equal(sorted(n.Required), sorted(required)) {
		t.Errorf("%s: schema requires %q, Go fields without omitempty are %q", typ.Name(), sorted(n.Required), sorted(required))
	}
}

func checkField(t *testing.T, root, prop *schemaNode, at string, typ reflect.Type, seen map[reflect.Type]bool) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch typ.Kind() {
	case reflect.Struct:
		checkStruct(t, root, prop, typ, seen)
	case reflect.Slice:
		if prop.Type != "array" || prop.Items == nil {
			t.Errorf("%s: schema type %q, want an array with items", at, prop.Type)
			return
		}
		checkField(t, root, resolve(t, root, prop.Items), at+"[]", typ.Elem(), seen)
	case reflect.String:
		checkScalar(t, prop, at, "string", func(v any) bool { _, ok := v.(string); return ok })
	case reflect.Int, reflect.Int64:
		checkScalar(t, prop, at, "integer", func(v any) bool { f, ok := v.(float64); return ok && f == float64(int64(f)) })
	default:
		t.Errorf("%s: Go kind %s has no schema mapping in this test", at, typ.Kind())
	}
}

// checkScalar accepts a matching "type", or a const or enum whose values
// all have the Go field's kind.
func checkScalar(t *testing.T, prop *schemaNode, at, want string, ok func(any) bool) {
	t.Helper()
	values := prop.Enum
	if prop.Const != nil {
		values = append(values, prop.Const)
	}
	switch {
	case prop.Type == want:
	case prop.Type == "" && len(values) > 0:
		for _, v := range values {
			if !ok(v) {
				t.Errorf("%s: enum value %v is not a %s", at, v, want)
			}
		}
	default:
		t.Errorf("%s: schema type %q, want %s", at, prop.Type, want)
	}
}

// TestSchemaEnumsMatchConstants holds the schema's closed sets equal to the
// constants the engine writes.
func TestSchemaEnumsMatchConstants(t *testing.T) {
	t.Parallel()
	root := loadSchema(t)
	for _, tc := range []struct {
		name string
		node *schemaNode
		want []string
	}{
		{"apiVersion", root.Properties["apiVersion"], []string{GroupVersion}},
		{"kind", root.Properties["kind"], []string{KindReport}},
		{"tag and referrer status", root.Defs["status"], []string{
			StatusCopied, StatusOverwritten, StatusSkipped, StatusDrifted,
			StatusWouldCopy, StatusWouldOverwrite, StatusFailed,
		}},
		{"entry status", root.Defs["EntryResult"].Properties["status"], []string{EntryCompleted, EntryFailed}},
		{"reason", root.Defs["reason"], []string{ReasonUpToDate, ReasonSignatureTooNew}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, v := range append(tc.node.Enum, tc.node.Const) {
				if s, ok := v.(string); ok {
					got = append(got, s)
				}
			}
			if !slices.Equal(sorted(got), sorted(tc.want)) {
				t.Errorf("schema has %q, constants are %q", sorted(got), sorted(tc.want))
			}
		})
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
