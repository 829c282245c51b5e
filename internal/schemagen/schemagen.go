// Package schemagen writes the JSON Schema (draft 2020-12) of a config
// version from its Go types in api/<version>: reflection gives the shape
// (closed objects, required keys, types), the package's source gives the
// descriptions (its doc comments) and the closed sets (its constants).
// hack/configschema runs it through go generate; the api packages' tests
// run it too, so a schema that lags its types fails them.
package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Generate returns the schema of spec's version, reading the doc comments
// and constants from the package source in dir.
func Generate(spec Spec, dir string) ([]byte, error) {
	d, err := readDocs(dir)
	if err != nil {
		return nil, err
	}
	b := &builder{spec: spec, docs: d, done: map[reflect.Type]bool{}}
	root := obj{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", spec.URL},
		{"title", spec.Title},
	}
	root = append(root, b.object(spec.Root)...)
	if len(b.defs) > 0 {
		root = append(root, kv{"$defs", b.defs})
	}
	if b.err != nil {
		return nil, b.err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// builder collects the $defs of one schema.
type builder struct {
	spec Spec
	docs *docs
	defs obj
	done map[reflect.Type]bool
	err  error
}

// object is the closed object schema of struct type t.
func (b *builder) object(t reflect.Type) obj {
	jsonNames := map[string]string{}
	for f := range t.Fields() {
		jsonNames[f.Name] = jsonName(f)
	}
	o := obj{}
	if doc := b.docs.describe(b.docs.types[t.Name()], jsonNames, b.spec.Names, false); doc != "" {
		o = append(o, kv{"description", doc})
	}
	o = append(o, kv{"type", "object"}, kv{"additionalProperties", false})
	var required []string
	props := obj{}
	for f := range t.Fields() {
		name := jsonName(f)
		if !strings.Contains(f.Tag.Get("json"), ",omitempty") {
			required = append(required, name)
		}
		p := obj{}
		if doc := b.docs.describe(b.docs.fields[t.Name()][f.Name], jsonNames, b.spec.Names, true); doc != "" {
			p = append(p, kv{"description", doc})
		}
		props = append(props, kv{name, b.value(p, t.Name()+"."+name, f.Type)})
	}
	if len(required) > 0 {
		o = append(o, kv{"required", required})
	}
	return append(o, kv{"properties", props})
}

// value completes o, the schema of a value at key ("Type.field", with
// "[]" for array items), of Go type t.
func (b *builder) value(o obj, key string, t reflect.Type) obj {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		b.define(t)
		o = append(o, kv{"$ref", "#/$defs/" + t.Name()})
	case reflect.Slice:
		o = append(o, kv{"type", "array"}, kv{"items", b.value(obj{}, key+"[]", t.Elem())})
	case reflect.String:
		o = append(o, kv{"type", "string"})
		if vals := b.values(key); len(vals) > 0 {
			o = append(o, kv{"enum", vals})
		}
	case reflect.Int, reflect.Int64:
		o = append(o, kv{"type", "integer"})
	case reflect.Bool:
		o = append(o, kv{"type", "boolean"})
	default:
		b.fail(fmt.Errorf("%s: Go kind %s has no schema mapping", key, t.Kind()))
	}
	return append(o, b.spec.Extra[key]...)
}

// define adds struct type t to $defs once.
func (b *builder) define(t reflect.Type) {
	if b.done[t] {
		return
	}
	b.done[t] = true
	i := len(b.defs)
	b.defs = append(b.defs, kv{t.Name(), nil})
	b.defs[i].v = b.object(t)
}

// values is the closed set of a string at key: the spec's constant names
// resolved in the package source, then its literal values.
func (b *builder) values(key string) []string {
	vals, err := b.docs.values(b.spec.Constants[key])
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", key, err))
	}
	return append(vals, b.spec.Literals[key]...)
}

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// kv is one member of an obj.
type kv struct {
	k string
	v any
}

// obj is a JSON object that keeps its members in the order written, so
// properties follow the Go fields and the file reads top-down.
type obj []kv

// MarshalJSON writes the members in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(m.k); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := enc.Encode(m.v); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
