// Package dockerstore stores registry credentials in the local Docker
// config the way `docker login` does, through docker's own config code
// (github.com/docker/cli/cli/config) and the credential helpers it names,
// so that docker, crane, oras, helm and the flux CLI find them.
//
// Load reads the config and refuses a malformed one, leaving it as it is.
// Plan decides where each credential goes (see Route); Apply stores the
// pairs a helper keeps first, then saves config.json once, atomically
// (docker's Save writes a temporary file and renames it), keeping every
// other entry and setting docker knows.
package dockerstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"

	"github.com/fluxcd/flux-mirror/internal/credential"
)

// Dir returns the Docker config directory: flagDir when set, else
// $DOCKER_CONFIG, else ~/.docker.
func Dir(flagDir string) (string, error) {
	if flagDir != "" {
		return flagDir, nil
	}
	if d := os.Getenv(config.EnvOverrideConfigDir); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("cannot locate the Docker config: $HOME is not set; pass --docker-config DIR or set $DOCKER_CONFIG")
	}
	return filepath.Join(home, ".docker"), nil
}

// Config is a Docker config loaded to receive credentials.
type Config struct {
	file    *configfile.ConfigFile
	adopted string
}

// Load reads config.json in dir; a missing file is an empty config. A file
// that cannot be read or parsed is an error, and it is left as it is.
func Load(dir string) (*Config, error) {
	if dir == "" {
		return nil, errors.New("docker config directory must not be empty")
	}
	f, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("read the Docker config in %s: %w; fix or move the file and run again (it was not changed)", dir, err)
	}
	return &Config{file: f}, nil
}

// Path returns the path of config.json.
func (c *Config) Path() string { return c.file.Filename }

// Settings returns the config's credential helper settings.
func (c *Config) Settings() Settings {
	return Settings{CredsStore: c.file.CredentialsStore, CredHelpers: c.file.CredentialHelpers}
}

// Adopted returns the platform's default credential helper that Plan set as
// credsStore, or "" when it set none.
func (c *Config) Adopted() string { return c.adopted }

// Plan decides where each credential goes (see Route). Like docker login,
// on a config with no credentials and no helper settings yet it first
// adopts the platform's default helper as credsStore when that helper is
// installed (docker's credentials.DetectDefaultStore); it does so only when
// a pair would be stored through it, never with plaintext.
func (c *Config) Plan(creds []credential.Credential, plaintext bool) ([]Placement, error) {
	if !plaintext && !c.file.ContainsAuth() && hasPair(creds) {
		if helper := credentials.DetectDefaultStore(""); helper != "" {
			c.file.CredentialsStore = helper
			c.adopted = helper
		}
	}
	return Route(c.Settings(), creds, plaintext)
}

// Apply stores the credentials as plan says. Pairs a helper keeps go to
// their helpers first, and config.json then gets, in one atomic save, an
// empty entry for each of them (as docker login leaves it), the entries of
// the rest, and every entry and setting it had before.
//
// If a helper fails, config.json is not written; the error names the hosts
// whose pairs the helpers already hold. ctx bounds the helper calls.
func (c *Config) Apply(ctx context.Context, plan []Placement) error {
	auths := c.file.GetAuthConfigs()
	var stored []string
	for _, p := range plan {
		if p.InFile() {
			continue
		}
		if err := storeInHelper(ctx, p.Helper, p.Key, p.Credential); err != nil {
			return fmt.Errorf("host %q: %w; %s", p.Credential.Host, err, notWritten(c.Path(), stored))
		}
		stored = append(stored, p.Credential.Host)
		auths[p.Key] = types.AuthConfig{}
	}
	for _, p := range plan {
		if p.InFile() {
			auths[p.Key] = fileEntry(p.Credential)
		}
	}
	// Writing the map and calling Save is what docker's file store does,
	// without the warning it prints on os.Stderr; the caller warns.
	if err := c.file.Save(); err != nil {
		return fmt.Errorf("save %s: %w; %s", c.Path(), err, notWritten(c.Path(), stored))
	}
	return nil
}

// fileEntry is the auths entry of a credential kept in config.json: a pair
// (Save writes it as auth only) or a bearer token as registrytoken.
func fileEntry(c credential.Credential) types.AuthConfig {
	if c.Username == "" {
		return types.AuthConfig{RegistryToken: c.Token}
	}
	return types.AuthConfig{Username: c.Username, Password: c.Password}
}

// notWritten says that config.json is unchanged and which hosts' pairs the
// helpers already hold.
func notWritten(path string, stored []string) string {
	if len(stored) == 0 {
		return path + " was not changed"
	}
	return fmt.Sprintf("%s was not changed, but the credential helpers already hold the new pairs of %s",
		path, strings.Join(stored, ", "))
}
