package schematest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/schematest"
)

// moduleRoot is the repository, seen from this package's directory.
const moduleRoot = "../.."

// foundConfig is one config document in the repository: a YAML file whose
// kind is Config, or a ConfigMap value holding one.
type foundConfig struct {
	name string // file, and ConfigMap key when embedded
	path string // the file to load, or "" when embedded
	doc  []byte
}

// TestRepositoryConfigsValidate validates every config the repository
// holds (examples, testdata, fenced yaml blocks of README.md and docs/,
// anywhere) that the loader accepts against the schema of its apiVersion.
// A config the loader refuses is an invalid-input fixture, logged and left
// to the loader's tests, except in examples/ and README.md, whose configs
// users copy: those must load. (docs/ may show a config to explain an
// error.) Loading substitutes ${VAR} with "1"; the
// schema sees the text as written with references in integer and boolean
// fields replaced by plausible values (schematest.PlausibleValues).
func TestRepositoryConfigsValidate(t *testing.T) {
	t.Parallel()
	configs := findConfigs(t)
	counts := map[string]int{}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if err := load(c); err != nil {
				if mustLoad(c.name) {
					t.Fatalf("the loader refuses a config users copy: %v", err)
				}
				t.Logf("not a valid config (the loader says: %v); its tests own it", err)
				return
			}
			doc, err := schematest.PlausibleValues(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := schematest.ValidateConfig(doc); err != nil {
				t.Errorf("the loader accepts it, the schema does not: %v", err)
			}
		})
		counts[strings.SplitN(c.name, "/", 2)[0]]++
	}
	// The walk itself can break; the places the issue names must not come
	// up empty.
	for _, dir := range []string{"examples", "internal"} {
		if counts[dir] == 0 {
			t.Errorf("found no config under %s/", dir)
		}
	}
}

func mustLoad(name string) bool {
	for _, prefix := range []string{"examples/", "README.md", "docs/"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// load runs the real loader on c, with every variable set to "1".
func load(c foundConfig) error {
	_, err := loadModel(c)
	return err
}

// loadModel is load that returns the loaded config.
func loadModel(c foundConfig) (*config.Loaded, error) {
	opts := config.Options{Path: c.path, LookupEnv: func(string) (string, bool) { return "1", true }}
	if c.path == "" {
		opts.Path, opts.Stdin = config.Stdin, bytes.NewReader(c.doc)
	}
	return config.Load(opts)
}

// findConfigs walks the repository for config documents.
func findConfigs(t *testing.T) []foundConfig {
	t.Helper()
	var out []foundConfig
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != moduleRoot && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin") {
			return filepath.SkipDir
		}
		ext := filepath.Ext(path)
		if d.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".md") {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(raw, []byte("mirror.plugin.fluxcd.io/")) {
			return err
		}
		rel, err := filepath.Rel(moduleRoot, path)
		if err != nil {
			return err
		}
		if ext == ".md" {
			out = append(out, configsInMarkdown(filepath.ToSlash(rel), raw)...)
		} else {
			out = append(out, configsIn(t, filepath.ToSlash(rel), path, raw)...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// configsIn returns the configs of one YAML file: the file itself when it
// is one config, and the values of its ConfigMaps that are configs.
func configsIn(t *testing.T, name, path string, raw []byte) []foundConfig {
	t.Helper()
	var out []foundConfig
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for n := 0; ; n++ {
		var doc struct {
			APIVersion string            `yaml:"apiVersion"`
			Kind       string            `yaml:"kind"`
			Data       map[string]string `yaml:"data"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			// A fixture of unparsable YAML: the loader's tests own it.
			t.Logf("%s: not parsed (%v)", name, err)
			return out
		}
		switch {
		case doc.Kind == "Config" && n == 0 && isConfigVersion(doc.APIVersion):
			out = append(out, foundConfig{name: name, path: path, doc: raw})
		case doc.Kind == "ConfigMap":
			for key, value := range doc.Data {
				if isConfig([]byte(value)) {
					out = append(out, foundConfig{name: name + ":" + key, doc: []byte(value)})
				}
			}
		}
	}
}

// configsInMarkdown returns the fenced yaml blocks of a document that are
// configs, named by their opening line.
func configsInMarkdown(name string, raw []byte) []foundConfig {
	var out []foundConfig
	lines := strings.SplitAfter(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```yaml" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
		}
		block := []byte(strings.Join(lines[start:min(i, len(lines))], ""))
		if isConfig(block) {
			out = append(out, foundConfig{name: fmt.Sprintf("%s:%d", name, start), doc: block})
		}
	}
	return out
}

func isConfigVersion(apiVersion string) bool {
	return strings.HasPrefix(apiVersion, "mirror.plugin.fluxcd.io/")
}

func isConfig(doc []byte) bool {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	return yaml.Unmarshal(doc, &head) == nil && head.Kind == "Config" && isConfigVersion(head.APIVersion)
}

// TestSchemasDocNamesEverySchema keeps docs/schemas.md, where users look
// for the schemas, naming each shipped schema by path and by URL.
func TestSchemasDocNamesEverySchema(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join(moduleRoot, "docs/schemas.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{v1beta1.ConfigSchemaURL, v1beta2.ConfigSchemaURL, v1beta2.ReportSchemaURL} {
		path := "../" + url[strings.Index(url, "/api/")+1:]
		for _, want := range []string{url, "(" + path + ")"} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("docs/schemas.md does not name %s", want)
			}
		}
	}
}
