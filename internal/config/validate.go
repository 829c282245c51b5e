package config

import (
	"errors"
	"strings"
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/internal/cloudhost"
)

// Validate checks every rule of a decoded v1beta1 config and reports all
// problems at once, in document order, as one error with a single-line
// message. Each problem starts with its field path ("hosts[1].credential:
// ..."). Validate reads no files and never includes a credential in a
// message.
//
// A config without hosts is valid: whether hosts are needed is up to the
// command.
func Validate(cfg *v1beta1.Config) error {
	_, err := validateV1beta1(cfg, positions{})
	return err
}

// validateV1beta1 is Validate that prefixes each problem with its line and
// names the variables of substituted values, given the positions of the
// decoded fields, and returns the config converted to the model.
func validateV1beta1(cfg *v1beta1.Config, at positions) (*Config, error) {
	if cfg == nil {
		return nil, errors.New("no config")
	}
	p := problems{positions: at}
	validateIdentity(&p, cfg.APIVersion, cfg.Kind, v1beta1.GroupVersion)
	validateHosts(&p, cfg.Hosts)
	model := fromV1beta1(cfg)
	validateMirror(&p, model)
	if err := p.err(); err != nil {
		return nil, err
	}
	return model, nil
}

// validateIdentity checks apiVersion and kind against the version being
// decoded.
func validateIdentity(p *problems, apiVersion, kind, want string) {
	switch apiVersion {
	case want:
	case "":
		p.add("apiVersion", "required, set it to %s", safe(want))
	default:
		p.add("apiVersion", "must be %s, got %q", safe(want), apiVersion)
	}
	switch kind {
	case v1beta1.Kind:
	case "":
		p.add("kind", "required, set it to %s", safe(v1beta1.Kind))
	default:
		p.add("kind", "must be %s, got %q", safe(v1beta1.Kind), kind)
	}
}

// validateMirror checks the sections that are the same in every version
// (artifacts and charts), on the model: their field paths are the same.
func validateMirror(p *problems, cfg *Config) {
	for i := range cfg.Artifacts {
		validateArtifact(p, index("artifacts", i), &cfg.Artifacts[i])
	}
	for i := range cfg.Charts {
		validateChart(p, index("charts", i), &cfg.Charts[i])
	}
}

// validateHosts checks each host and that no registry appears twice.
func validateHosts(p *problems, hosts []v1beta1.Host) {
	names := make([]string, len(hosts))
	for i := range hosts {
		validateHost(p, index("hosts", i), &hosts[i])
		names[i] = hosts[i].Host
	}
	checkUniqueHosts(p, names)
}

// checkUniqueHosts reports a registry listed twice (hosts[].host).
func checkUniqueHosts(p *problems, hosts []string) {
	first := map[string]int{}
	for i, h := range hosts {
		if h == "" {
			continue
		}
		path := index("hosts", i)
		key := registryKey(h)
		if j, dup := first[key]; dup {
			other := any(hosts[j])
			if p.substituted(field(index("hosts", j), "host")) {
				other = "…"
			}
			p.add(field(path, "host"), "%q is the same registry as hosts[%d] (%q), list each registry once", h, j, other)
			continue
		}
		first[key] = i
	}
}

// registryKey is the identity of a host for uniqueness: Docker Hub answers
// to more than one name.
func registryKey(host string) string {
	if cloudhost.IsDockerHub(host) {
		return cloudhost.DockerHub
	}
	return host
}

// validatePath checks a file path field. Relative paths, ".." and absolute
// paths are all accepted here: they are resolved inside the config's root
// when read.
func validatePath(p *problems, path, value string) {
	if strings.ContainsRune(value, 0) {
		p.add(path, "must not contain a NUL byte")
	}
}

// validateDuration checks a Go duration ("90s", "5m") and whether it may be
// zero.
func validateDuration(p *problems, path, value string, allowZero bool) {
	d, err := time.ParseDuration(value)
	switch {
	case err != nil:
		p.add(path, "not a duration (write it like 90s, 5m or 1h30m)")
	case d < 0 && allowZero:
		p.add(path, "must not be negative")
	case d <= 0 && !allowZero:
		p.add(path, "must be greater than zero")
	}
}
