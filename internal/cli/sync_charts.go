package cli

import (
	"fmt"
	"strings"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/helmrepo"
	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/selector"
)

// chartEntries turns the config's charts into the engine's entries. The
// chart repositories' credentials and TLS come from Helm's repositories
// file, read once, and only when there are charts.
func (o *syncOptions) chartEntries(charts []config.Chart) ([]mirror.Entry, error) {
	if len(charts) == 0 {
		return nil, nil
	}
	repos, err := helmrepo.LoadRepositories(helmrepo.RepositoryConfigPath())
	if err != nil {
		return nil, err
	}
	out := make([]mirror.Entry, 0, len(charts))
	for i, c := range charts {
		source := strings.TrimSuffix(c.Source, "/")
		entry := repos.Lookup(source)
		if entry != nil {
			o.log().Debugf("charts[%d]: credentials and TLS of helm repository %q (%s)", i, entry.Name, repos.Path)
		}
		client, err := helmrepo.NewClient(source, entry, "flux-mirror/"+Version())
		if err != nil {
			return nil, fmt.Errorf("charts[%d].source: %w", i, err)
		}
		spec := selector.Spec{Semver: c.Version, SortBy: selector.SortSemver, Limit: selector.DefaultLimit}
		if spec.Semver == "" {
			spec.Semver = "*"
		}
		if c.Limit != nil {
			spec.Limit = int(*c.Limit)
		}
		sel, err := selector.Compile(spec)
		if err != nil {
			return nil, fmt.Errorf("charts[%d].%w", i, err)
		}
		out = append(out, mirror.Entry{
			Source:      source + "/" + c.Name,
			Destination: chartRepository(c.Destination, c.Name),
			Selector:    sel,
			Overwrite:   c.Overwrite || o.overwrite,
			Chart:       &mirror.Chart{Name: c.Name, Repository: client},
		})
	}
	return out, nil
}

// chartRepository is the repository a chart lands in: the oci://
// destination's path with the chart's name under it, as helm push does.
func chartRepository(destination, chart string) string {
	return strings.TrimSuffix(strings.TrimPrefix(destination, "oci://"), "/") + "/" + chart
}
