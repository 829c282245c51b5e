package helmrepo

import (
	"errors"
	"fmt"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// Index is a repository's index.yaml: every version of every chart.
type Index struct {
	APIVersion string                     `json:"apiVersion"`
	Entries    map[string][]*ChartVersion `json:"entries"`
}

// ChartVersion is one version of a chart in the index, with the fields
// sync needs of Helm's repo.ChartVersion.
type ChartVersion struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	// Digest is the archive's sha256 in hex, when the index carries it
	// (helm repo index writes it).
	Digest string `json:"digest,omitempty"`
}

// ParseIndex decodes an index (YAML or JSON) read from source. Like Helm,
// it drops versions that are not semantic versions or lack a URL, and
// refuses an index without apiVersion.
func ParseIndex(b []byte, source string) (*Index, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("index %s is empty", source)
	}
	var i Index
	if err := yaml.Unmarshal(b, &i); err != nil {
		return nil, fmt.Errorf("index %s: %w", source, err)
	}
	if i.APIVersion == "" {
		return nil, fmt.Errorf("index %s: %w", source, errNoAPIVersion)
	}
	for name, versions := range i.Entries {
		kept := versions[:0]
		for _, v := range versions {
			if v == nil || len(v.URLs) == 0 || v.Name != name {
				continue
			}
			if _, err := semver.StrictNewVersion(v.Version); err != nil {
				continue
			}
			kept = append(kept, v)
		}
		i.Entries[name] = kept
	}
	return &i, nil
}

var errNoAPIVersion = errors.New("no apiVersion: not a Helm repository index")

// Versions returns chart name's versions, or false when the index does
// not list the chart.
func (i *Index) Versions(name string) ([]*ChartVersion, bool) {
	v, ok := i.Entries[name]
	return v, ok && len(v) > 0
}
