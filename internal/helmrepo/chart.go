package helmrepo

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"sigs.k8s.io/yaml"
)

// Media types of a chart stored in an OCI registry, as Helm pushes it.
const (
	ConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
	ChartMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Metadata is a chart's Chart.yaml with the field names and order of
// Helm's chart.Metadata, so that its JSON is the config blob helm push
// writes for the same chart.
type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []*Dependency     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

// Maintainer is Helm's chart.Maintainer.
type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// Dependency is Helm's chart.Dependency.
type Dependency struct {
	Name         string   `json:"name"`
	Version      string   `json:"version,omitempty"`
	Repository   string   `json:"repository"`
	Condition    string   `json:"condition,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	Enabled      bool     `json:"enabled,omitempty"`
	ImportValues []any    `json:"import-values,omitempty"`
	Alias        string   `json:"alias,omitempty"`
}

// ReadMetadata reads a chart archive (a gzipped tar) up to its Chart.yaml
// and returns the chart's metadata as Helm's loader makes it: apiVersion
// v1 when unset, and for v1 charts the dependencies of requirements.yaml.
// It reads r to its end, so that a caller hashing r sees every byte.
func ReadMetadata(r io.Reader) (*Metadata, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("chart archive: %w", err)
	}
	tr := tar.NewReader(zr)
	var chartYAML, requirements []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("chart archive: %w", err)
		}
		dir, file, ok := strings.Cut(path.Clean(strings.TrimPrefix(h.Name, "./")), "/")
		if !ok || dir == "" || strings.Contains(file, "/") || h.Typeflag != tar.TypeReg {
			continue
		}
		switch file {
		case "Chart.yaml":
			chartYAML, err = readAll(tr, maxChartFile, "Chart.yaml")
		case "requirements.yaml":
			requirements, err = readAll(tr, maxChartFile, "requirements.yaml")
		}
		if err != nil {
			return nil, fmt.Errorf("chart archive: %w", err)
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("chart archive: %w", err)
	}
	if chartYAML == nil {
		return nil, errors.New("chart archive: no Chart.yaml in its top directory")
	}
	md := &Metadata{}
	if err := yaml.Unmarshal(chartYAML, md); err != nil {
		return nil, fmt.Errorf("chart archive: Chart.yaml: %w", err)
	}
	if md.APIVersion == "" {
		md.APIVersion = "v1"
	}
	if requirements != nil && md.APIVersion == "v1" {
		if err := yaml.Unmarshal(requirements, md); err != nil {
			return nil, fmt.Errorf("chart archive: requirements.yaml: %w", err)
		}
	}
	return md, nil
}

// Config is the chart's config blob: its metadata as JSON.
func (md *Metadata) Config() ([]byte, error) { return json.Marshal(md) }

// OCIAnnotations are the manifest annotations helm push derives from the
// metadata (the chart's own annotations may replace all but the title and
// version), without the creation time, which would make every push of the
// same chart a different manifest.
func (md *Metadata) OCIAnnotations() map[string]string {
	a := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	put("org.opencontainers.image.description", md.Description)
	put("org.opencontainers.image.title", md.Name)
	put("org.opencontainers.image.version", md.Version)
	put("org.opencontainers.image.url", md.Home)
	if len(md.Sources) > 0 {
		put("org.opencontainers.image.source", md.Sources[0])
	}
	if len(md.Maintainers) > 0 {
		var b strings.Builder
		for i, m := range md.Maintainers {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.Name)
			if m.Email != "" {
				fmt.Fprintf(&b, " (%s)", m.Email)
			}
		}
		put("org.opencontainers.image.authors", b.String())
	}
	for k, v := range md.Annotations {
		if k != "org.opencontainers.image.title" && k != "org.opencontainers.image.version" {
			a[k] = v
		}
	}
	if len(a) == 0 {
		return nil
	}
	return a
}
