package schematest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/api/v1beta2"
)

// configSchemas compiles the shipped config schemas once per test binary,
// keyed by the apiVersion they describe.
var configSchemas = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	out := map[string]*jsonschema.Schema{}
	for version, s := range map[string]struct {
		url    string
		schema []byte
	}{
		v1beta1.GroupVersion: {v1beta1.ConfigSchemaURL, v1beta1.ConfigSchema},
		v1beta2.GroupVersion: {v1beta2.ConfigSchemaURL, v1beta2.ConfigSchema},
	} {
		sch, err := Compile(s.url, s.schema)
		if err != nil {
			return nil, err
		}
		out[version] = sch
	}
	return out, nil
})

// ValidateConfig checks doc, one config document in YAML or JSON, against
// the shipped schema of the apiVersion it names. The schema describes the
// decoded form: validate a config after ${VAR} substitution (see
// PlausibleValues).
func ValidateConfig(doc []byte) error {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	schemas, err := configSchemas()
	if err != nil {
		return err
	}
	sch, ok := schemas[head.APIVersion]
	if !ok {
		return fmt.Errorf("no config schema for apiVersion %q", head.APIVersion)
	}
	return Validate(sch, doc)
}

// PlausibleValues returns doc, a config, with every ${VAR} reference in an
// integer or boolean field replaced by a plausible value of that type (1,
// true), which is what substitution would leave there for the decoder.
// References in string fields stay as written: the text is a string
// either way. Fields are typed by the wire types of the config's
// apiVersion.
func PlausibleValues(doc []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	var head struct {
		APIVersion string `yaml:"apiVersion"`
	}
	if err := root.Decode(&head); err != nil {
		return nil, fmt.Errorf("not a config: %w", err)
	}
	types := map[string]reflect.Type{
		v1beta1.GroupVersion: reflect.TypeFor[v1beta1.Config](),
		v1beta2.GroupVersion: reflect.TypeFor[v1beta2.Config](),
	}
	typ, ok := types[head.APIVersion]
	if !ok {
		return nil, fmt.Errorf("no config types for apiVersion %q", head.APIVersion)
	}
	if len(root.Content) == 1 {
		plausible(root.Content[0], typ)
	}
	return yaml.Marshal(&root)
}

// plausible walks n beside Go type typ, replacing references as
// PlausibleValues says.
func plausible(n *yaml.Node, typ reflect.Type) {
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && typ.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, ok := fields[n.Content[i].Value]; ok {
				plausible(n.Content[i+1], ft)
			}
		}
	case n.Kind == yaml.SequenceNode && typ.Kind() == reflect.Slice:
		for _, item := range n.Content {
			plausible(item, typ.Elem())
		}
	case n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${"):
		switch typ.Kind() {
		case reflect.Int, reflect.Int64:
			n.Value, n.Tag, n.Style = "1", "!!int", 0
		case reflect.Bool:
			n.Value, n.Tag, n.Style = "true", "!!bool", 0
		}
	}
}
