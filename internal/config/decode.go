package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/api/v1beta2"
)

// Decode parses a config document strictly: an unknown field, a key given
// twice, or a value of the wrong type is an error naming the field's path
// and line. So is empty input, more than one YAML document, a top level
// that is not a mapping, and text larger than MaxSize, not UTF-8 or with a
// control character.
//
// Decode identifies the document before decoding its fields: when apiVersion
// or kind is not the one this package knows, that is the only error
// reported, because the rest of the document follows some other schema.
// Decode substitutes no environment variables and checks no other rule;
// see Load and Validate.
func Decode(data []byte) (*v1beta1.Config, error) {
	root, err := singleDocument(data)
	if err != nil {
		return nil, err
	}
	cfg, _, err := decodeRoot(root, nil)
	return cfg, err
}

// decodeRoot decodes a v1beta1 config's top-level mapping, whose
// substituted scalars are subs. It also returns the line of each field
// path and the substitution of each, so that validation problems can point
// into the file and never quote a substituted value.
func decodeRoot(root *yaml.Node, subs substitutions) (*v1beta1.Config, positions, error) {
	if err := checkIdentity(root, subs); err != nil {
		return nil, positions{}, err
	}
	cfg := &v1beta1.Config{}
	at, err := decodeInto(root, subs, cfg, nil)
	return cfg, at, err
}

// decodeAny decodes, validates and converts a config of the version its
// apiVersion names; one without apiVersion is read as the current version
// (and validation says apiVersion is required).
func decodeAny(root *yaml.Node, subs substitutions) (*Config, error) {
	if err := checkIdentity(root, subs); err != nil {
		return nil, err
	}
	if v := lookup(root, "apiVersion"); v != nil && v.Value == v1beta1.GroupVersion {
		cfg := &v1beta1.Config{}
		at, err := decodeInto(root, subs, cfg, nil)
		if err != nil {
			return nil, err
		}
		return validateV1beta1(cfg, at)
	}
	cfg := &v1beta2.Config{}
	at, err := decodeInto(root, subs, cfg, v1beta1Renames)
	if err != nil {
		return nil, err
	}
	return validateV1beta2(cfg, at)
}

// decodeInto decodes a config's top-level mapping into dst, a pointer to
// one version's Config.
func decodeInto(root *yaml.Node, subs substitutions, dst any, renamed map[reflect.Type]map[string]string) (positions, error) {
	d := &decoder{subs: subs, renamed: renamed}
	d.problems.positions = positions{lines: map[string]int{}, subst: map[string]*substitution{}}
	d.decode(root, reflect.ValueOf(dst).Elem(), "")
	if d.exhausted != nil {
		return positions{}, d.exhausted
	}
	if err := d.problems.err(); err != nil {
		return positions{}, err
	}
	return d.problems.positions, nil
}

// v1beta1Renames are the v1beta1 fields a v1beta2 config may still carry
// by habit, with what to write instead.
var v1beta1Renames = map[reflect.Type]map[string]string{
	reflect.TypeFor[v1beta2.Host](): {"username": "a v1beta1 field: in v1beta2 it is credential.username"},
	reflect.TypeFor[v1beta2.Credential](): {
		"aud": "a v1beta1 field: write audiences, a list",
		"iss": "a v1beta1 field: write issuer",
		"sub": "a v1beta1 field: write subject",
		"exp": "a v1beta1 field: write expiration",
	},
	reflect.TypeFor[v1beta2.SPIFFEServer](): {"authorizeAny": "removed in v1beta2: name the trustDomain, or a serverID ending in / for a path prefix"},
}

// Parse decodes, validates and converts a config's bytes, of either
// version, without substituting environment variables; Load is what the
// commands use.
func Parse(data []byte) (*Config, error) {
	root, err := singleDocument(data)
	if err != nil {
		return nil, err
	}
	return decodeAny(root, nil)
}

// singleDocument checks a config's text and returns the top-level mapping
// of its only YAML document.
func singleDocument(data []byte) (*yaml.Node, error) {
	if err := checkText(data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root *yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlError(err, data)
		}
		// An empty document, such as one left by a trailing "---", is no
		// second config.
		if len(doc.Content) == 0 || isNull(resolveAlias(doc.Content[0])) {
			continue
		}
		if root != nil {
			return nil, fmt.Errorf("line %d: a second YAML document (a config is a single document)", doc.Line)
		}
		root = resolveAlias(doc.Content[0])
	}
	if root == nil {
		return nil, errEmpty
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the top level must be a mapping (apiVersion, kind, hosts, ...), got %s",
			root.Line, describe(root))
	}
	return root, nil
}

var errEmpty = errors.New("empty document (a config needs at least apiVersion and kind)")

// yamlError rewords a YAML syntax error. The parser only ever sees the
// config as written, never a substituted value. A ${VAR} in a flow
// collection ({...} or [...]) must be quoted, because "{" and "}" end a
// plain scalar there; that is said when the text has a reference.
func yamlError(err error, data []byte) error {
	msg := truncate(strings.TrimPrefix(err.Error(), "yaml: "), maxProblemLength)
	if bytes.Contains(data, []byte("${")) {
		msg += " (inside {...} or [...], quote a ${VAR} reference: '${VAR}')"
	}
	return fmt.Errorf("invalid YAML: %s", msg)
}

// checkIdentity refuses a document whose apiVersion or kind is present and
// differs from what this package decodes. Missing ones are left to Validate,
// which reports them together with everything else.
func checkIdentity(root *yaml.Node, subs substitutions) error {
	p := problems{positions: positions{subst: map[string]*substitution{}}}
	for _, want := range []struct {
		key    string
		values []string
		msg    string
	}{
		{"apiVersion", []string{v1beta2.GroupVersion, v1beta1.GroupVersion}, v1beta2.GroupVersion + " (or the deprecated " + v1beta1.GroupVersion + ")"},
		{"kind", []string{v1beta1.Kind}, v1beta1.Kind},
	} {
		n := lookup(root, want.key)
		if n == nil || n.Kind != yaml.ScalarNode || isNull(n) || slices.Contains(want.values, n.Value) {
			continue
		}
		if s := subs[n]; s != nil {
			p.subst[want.key] = s
		}
		p.addAt(n.Line, want.key, "must be %s, got %q", safe(want.msg), n.Value)
	}
	return p.err()
}

// lookup returns the value of the last key named key in a mapping, or nil.
func lookup(mapping *yaml.Node, key string) *yaml.Node {
	var found *yaml.Node
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if k := resolveAlias(mapping.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			found = resolveAlias(mapping.Content[i+1])
		}
	}
	return found
}

// resolveAlias follows an alias (*name) to the node it refers to.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is a null scalar ("", "~", "null").
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names the kind of a node for an error message without quoting its
// value, which may be a secret.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	default:
		return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
	}
}
