package helmrepo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"helm.sh/helm/v4/pkg/helmpath"
	"sigs.k8s.io/yaml"
)

// Entry is one repository of Helm's repositories file, with Helm's field
// names (helm.sh/helm/v4/pkg/repo/v1.Entry).
type Entry struct {
	Name                  string `json:"name"`
	URL                   string `json:"url"`
	Username              string `json:"username"`
	Password              string `json:"password"`
	CertFile              string `json:"certFile"`
	KeyFile               string `json:"keyFile"`
	CAFile                string `json:"caFile"`
	InsecureSkipTLSVerify bool   `json:"insecure_skip_tls_verify"`
	PassCredentialsAll    bool   `json:"pass_credentials_all"`
}

// Repositories is Helm's repositories file.
type Repositories struct {
	// Path is where the file was read from (for messages).
	Path         string
	Repositories []*Entry `json:"repositories"`
}

// RepositoryConfigPath is where Helm keeps its repositories file:
// $HELM_REPOSITORY_CONFIG, else Helm's configuration directory
// ($HELM_CONFIG_HOME, $XDG_CONFIG_HOME/helm or the platform default).
func RepositoryConfigPath() string {
	if p := os.Getenv("HELM_REPOSITORY_CONFIG"); p != "" {
		return p
	}
	return helmpath.ConfigPath("repositories.yaml")
}

// LoadRepositories reads Helm's repositories file at path. A file that
// does not exist is an empty one, as for Helm: repositories it does not
// list are read anonymously.
func LoadRepositories(path string) (*Repositories, error) {
	r := &Repositories{Path: path}
	b, err := readFile(path, maxChartFile)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("helm repositories file: %w", err)
	}
	if err := yaml.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("helm repositories file %s: %w", path, err)
	}
	return r, nil
}

// Lookup returns the entry whose URL is repoURL (a trailing slash and the
// case of scheme and host aside), or nil.
func (r *Repositories) Lookup(repoURL string) *Entry {
	want := normalURL(repoURL)
	for _, e := range r.Repositories {
		if e != nil && want != "" && normalURL(e.URL) == want {
			return e
		}
	}
	return nil
}

// normalURL is u without a trailing slash, its scheme and host lowercased;
// "" when u does not parse.
func normalURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" {
		return ""
	}
	p.Scheme, p.Host = strings.ToLower(p.Scheme), strings.ToLower(p.Host)
	p.Path = strings.TrimSuffix(p.Path, "/")
	p.RawPath = strings.TrimSuffix(p.RawPath, "/")
	return p.String()
}

// readFile reads at most limit bytes of path, refusing a larger file.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, limit, path)
}
