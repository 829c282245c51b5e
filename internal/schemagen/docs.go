package schemagen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// docs is what a package's source says beyond its reflected types: the doc
// comments of its types and fields, and its string constants.
type docs struct {
	types  map[string]string
	fields map[string]map[string]string
	consts map[string]string
	// names lists the string constants in source order, for prefix sets.
	names []string
}

// readDocs parses the non-test Go files of the package in dir.
func readDocs(dir string) (*docs, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	d := &docs{types: map[string]string{}, fields: map[string]map[string]string{}, consts: map[string]string{}}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			if g, ok := decl.(*ast.GenDecl); ok {
				d.addDecl(g)
			}
		}
	}
	if len(d.types) == 0 {
		return nil, fmt.Errorf("no Go types in %s", dir)
	}
	return d, nil
}

func (d *docs) addDecl(g *ast.GenDecl) {
	for _, spec := range g.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			doc := s.Doc
			if doc == nil && len(g.Specs) == 1 {
				doc = g.Doc
			}
			d.types[s.Name.Name] = doc.Text()
			st, ok := s.Type.(*ast.StructType)
			if !ok {
				continue
			}
			fields := map[string]string{}
			for _, f := range st.Fields.List {
				for _, n := range f.Names {
					fields[n.Name] = f.Doc.Text()
				}
			}
			d.fields[s.Name.Name] = fields
		case *ast.ValueSpec:
			if g.Tok != token.CONST {
				continue
			}
			for i, n := range s.Names {
				if i >= len(s.Values) {
					continue
				}
				lit, ok := s.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if v, err := strconv.Unquote(lit.Value); err == nil {
					d.consts[n.Name] = v
					d.names = append(d.names, n.Name)
				}
			}
		}
	}
}

// values resolves constant names to their values; a name ending in "*" is
// a prefix standing for every constant that starts with it.
func (d *docs) values(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if prefix, ok := strings.CutSuffix(n, "*"); ok {
			found := false
			for _, c := range d.names {
				if strings.HasPrefix(c, prefix) {
					out = append(out, d.consts[c])
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("no string constant starts with %s", prefix)
			}
			continue
		}
		v, ok := d.consts[n]
		if !ok {
			return nil, fmt.Errorf("no string constant %s", n)
		}
		out = append(out, v)
	}
	return out, nil
}

var (
	identifier = regexp.MustCompile(`\b[A-Z][A-Za-z0-9]*\b`)
	constSet   = regexp.MustCompile(`the ([A-Z][A-Za-z0-9]*) constants`)
)

// describe turns a Go doc comment into a description for users: one line,
// Go field names replaced by their JSON names (jsonNames), constants by
// their quoted values, named sets of constants by their values, and
// clauses about Go pointers dropped. The first word of a field's doc is
// its own name; the first word of a type's doc stays (it is the type).
func (d *docs) describe(doc string, jsonNames map[string]string, extra map[string]string, isField bool) string {
	text := dropGoNotes(strings.Join(strings.Fields(doc), " "))
	text = constSet.ReplaceAllStringFunc(text, func(m string) string {
		vals, err := d.values([]string{constSet.FindStringSubmatch(m)[1] + "*"})
		if err != nil {
			return m
		}
		return quoteList(vals)
	})
	first := true
	return identifier.ReplaceAllStringFunc(text, func(w string) string {
		defer func() { first = false }()
		switch {
		case first && isField:
			return jsonNames[w]
		case first:
			return w
		}
		if v, ok := d.consts[w]; ok {
			return strconv.Quote(v)
		}
		if v, ok := extra[w]; ok {
			return v
		}
		// An all-capitals field name (TLS, SPIFFE) mid-sentence is more
		// often the acronym than the field.
		if v, ok := jsonNames[w]; ok && strings.ToUpper(w) != w {
			return v
		}
		return w
	})
}

// dropGoNotes drops the clauses (sentences, or parts between semicolons)
// that explain a Go pointer, which users of the file never see.
func dropGoNotes(s string) string {
	var out []string
	for _, sentence := range strings.SplitAfter(s, ". ") {
		sentence = strings.TrimSpace(sentence)
		clauses := strings.Split(sentence, "; ")
		var keep []string
		for _, c := range clauses {
			if !strings.Contains(c, "pointer") {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			continue
		}
		j := strings.Join(keep, "; ")
		if len(keep) < len(clauses) && !strings.HasSuffix(j, ".") {
			j += "."
		}
		out = append(out, j)
	}
	return strings.Join(out, " ")
}

// quoteList writes "a", "b" or "c".
func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
