package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder fills the wire types from a YAML node tree by their json tags.
//
// It walks the tree itself rather than going through JSON so that every
// problem keeps both its field path with list indexes and its line, and so
// that all problems of a document are reported together.
type decoder struct {
	// problems also records the line of every field and list item
	// decoded, and the substitution of every substituted one, by path.
	problems problems
	// subs are the scalars substituted from the environment.
	subs substitutions
	// aliasDepth is how many aliases lead to the node being decoded, and
	// expanded counts the values decoded through an alias.
	aliasDepth, expanded int
	// exhausted is set once aliases expanded to more than
	// maxAliasExpansion values; decoding then stops.
	exhausted error
	// renamed maps a field of an older version, by the type of the struct
	// it was in, to what to write instead, for the hint of an unknown
	// field.
	renamed map[reflect.Type]map[string]string
}

const (
	// maxAliasExpansion bounds the values decoded through aliases (*name),
	// so that a few kilobytes of nested aliases cannot expand to gigabytes.
	maxAliasExpansion = 100_000
	// maxListLength bounds a list such as hosts: a Secret holds at most
	// 1 MiB, far fewer registries.
	maxListLength = 10_000
)

// decode stores n into v, a settable value of one of the kinds the wire
// types use.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
	}
	n = resolveAlias(n)
	if !d.spend(n, path) {
		return
	}
	if s := d.subs[n]; s != nil {
		d.problems.subst[path] = s
	}
	switch v.Kind() {
	case reflect.Pointer:
		d.decodePointer(n, v, path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		d.decodeString(n, v, path)
	case reflect.Int64:
		d.decodeScalar(n, v, path, "!!int", "an integer")
	case reflect.Bool:
		d.decodeScalar(n, v, path, "!!bool", "true or false")
	default:
		// Only reachable if a wire type gains a field of a new kind.
		panic(fmt.Sprintf("config: cannot decode into %s", v.Type()))
	}
}

// spend counts a value decoded through an alias and reports whether
// decoding may go on.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	if d.exhausted != nil {
		return false
	}
	if d.aliasDepth == 0 {
		return true
	}
	d.expanded++
	if d.expanded > maxAliasExpansion {
		d.exhausted = fmt.Errorf("line %d: %s: aliases expand to more than %d values, write the entries out "+
			"instead of repeating an alias (*name)", n.Line, path, maxAliasExpansion)
		return false
	}
	return true
}

// decodePointer leaves a null pointer unset. A null where an inline secret
// goes (credential.value, jwkValue) is an error of its own: it is nothing,
// null or ~ written in the config, never a substituted value, which is
// always a string.
func (d *decoder) decodePointer(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		if v.Type().Elem().Kind() == reflect.String {
			d.problems.addAt(n.Line, path, "is null: write the value, quoted if it is the text null or ~")
		}
		return
	}
	elem := reflect.New(v.Type().Elem())
	d.decode(n, elem.Elem(), path)
	v.Set(elem)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.problems.addAt(n.Line, path, "expected a mapping, got %s", safe(describe(n)))
		return
	}
	fields, names := jsonFields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := resolveAlias(n.Content[i]), n.Content[i+1]
		if !d.spend(key, path) {
			return
		}
		if key.Kind != yaml.ScalarNode {
			d.problems.addAt(key.Line, path, "a key must be a string, got %s", safe(describe(key)))
			continue
		}
		if key.ShortTag() == "!!merge" {
			d.problems.addAt(key.Line, path, "merge keys (<<) are not supported, write the fields out")
			continue
		}
		fi, known := fields[key.Value]
		// A substituted key that is no field is shown as written, ${VAR}
		// and all, never as its value.
		sub, at := d.subs[key], field(path, key.Value)
		if sub != nil && !known {
			at = field(path, sub.raw)
		}
		if first, dup := seen[key.Value]; dup {
			d.problems.addAt(key.Line, at, "duplicate key (first set on line %d)%s", first, keyOrigin(sub))
			continue
		}
		seen[key.Value] = key.Line
		if !known {
			hint := suggest(key.Value, names)
			if r, ok := d.renamed[v.Type()][key.Value]; ok {
				hint = " (" + r + ")"
			}
			if sub != nil {
				hint = " (expected one of " + strings.Join(names, ", ") + ")"
			}
			d.problems.addAt(key.Line, at, "unknown field%s", safe(hint))
			continue
		}
		d.problems.lines[at] = key.Line
		d.decode(value, v.Field(fi), at)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.problems.addAt(n.Line, path, "expected a list, got %s", safe(describe(n)))
		return
	}
	if len(n.Content) > maxListLength {
		d.problems.add(path, "%d entries, more than the %d allowed", len(n.Content), maxListLength)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.problems.lines[index(path, i)] = item.Line
		d.decode(item, s.Index(i), index(path, i))
	}
	v.Set(s)
}

// decodeString takes any scalar's text as written: a token or username that
// happens to look like a number or a boolean after substitution stays
// exactly what the user wrote. A null scalar is the empty string.
func (d *decoder) decodeString(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.problems.addAt(n.Line, path, "expected a string, got %s", safe(describe(n)))
		return
	}
	if isNull(n) {
		v.SetString("")
		return
	}
	v.SetString(n.Value)
}

// decodeScalar decodes an integer or a boolean, which must carry the
// matching YAML tag: a quoted "5" is not a number. A substituted value, a
// string, must be exactly a decimal integer or true or false.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path, tag, want string) {
	if isNull(n) {
		return
	}
	if d.subs[n] != nil {
		if !setSubstituted(n.Value, v) {
			d.problems.addAt(n.Line, path, "expected %s", safe(want))
		}
		return
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != tag {
		d.problems.addAt(n.Line, path, "expected %s, got %s", safe(want), safe(describe(n)))
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.problems.addAt(n.Line, path, "expected %s in range", safe(want))
	}
}

// setSubstituted stores a substituted string into an integer or boolean
// and reports whether it was one.
func setSubstituted(s string, v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int64:
		i, err := strconv.ParseInt(s, 10, 64)
		v.SetInt(i)
		return err == nil
	case reflect.Bool:
		v.SetBool(s == "true")
		return s == "true" || s == "false"
	}
	return false
}

// keyOrigin names the variable a substituted key came from, for messages.
func keyOrigin(sub *substitution) safe {
	if sub == nil {
		return ""
	}
	return safe(", the key is " + sub.origin())
}

// jsonFields maps each json tag name of a struct type to its field index,
// and lists the names in declaration order.
func jsonFields(t reflect.Type) (map[string]int, []string) {
	index := make(map[string]int, t.NumField())
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			index[name] = i
			names = append(names, name)
		}
	}
	return index, names
}

// suggest names the known field closest to a misspelt one, or lists them all
// when none is close.
func suggest(key string, names []string) string {
	limit := 2
	if len(key) <= 4 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, name := range names {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best == "" {
		return " (expected one of " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance counts the single-character insertions, deletions,
// substitutions and swaps of neighbours that turn a into b (the optimal
// string alignment distance).
func editDistance(a, b string) int {
	ar, br := []rune(a), []rune(b)
	d := make([][]int, len(ar)+1)
	for i := range d {
		d[i] = make([]int, len(br)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ar); i++ {
		for j := 1; j <= len(br); j++ {
			cost := 1
			if ar[i-1] == br[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ar[i-1] == br[j-2] && ar[i-2] == br[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ar)][len(br)]
}
