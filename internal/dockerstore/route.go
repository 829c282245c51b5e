package dockerstore

import (
	"fmt"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/dockerconfig"
)

// Settings are the parts of a Docker config that decide where a credential
// is kept: the default credential helper (credsStore) and the per-registry
// ones (credHelpers). Both hold helper names without the
// docker-credential- prefix.
type Settings struct {
	CredsStore  string
	CredHelpers map[string]string
}

// HelperFor returns the helper docker and the clients that share its config
// code ask for the auths key, and the setting that names it: the
// credHelpers entry for key, else credsStore. It returns "" when the file
// itself is read.
func (s Settings) HelperFor(key string) (helper, setting string) {
	if h, ok := s.CredHelpers[key]; ok {
		return h, fmt.Sprintf("credHelpers[%q]", key)
	}
	if s.CredsStore != "" {
		return s.CredsStore, "credsStore"
	}
	return "", ""
}

// Placement says where one credential is stored.
type Placement struct {
	// Credential is the credential to store.
	Credential credential.Credential
	// Key is the auths key, which is also the server URL a helper is
	// given: the host, or DockerHubKey for Docker Hub.
	Key string
	// Helper is the credential helper that stores the pair; empty when
	// the credential goes into config.json.
	Helper string
	// Serving is the helper that readers ask first for Key, whether or not
	// it stores this credential, and ServingSetting the config setting
	// that names it; both empty when no helper serves Key.
	Serving, ServingSetting string
}

// InFile reports whether the credential is written into config.json.
func (p Placement) InFile() bool { return p.Helper == "" }

// Shadowed reports whether the credential goes into config.json although
// a helper serves its key. docker's config code then asks the helper and
// replaces the file's username and password with what the helper holds,
// nothing included, so a pair in the file is never read; a registrytoken
// survives the lookup (docker, crane), but clients that only ask the
// helper (oras, helm) do not see it.
func (p Placement) Shadowed() bool { return p.InFile() && p.Serving != "" }

// Route decides where each credential goes, as docker login would and
// with two rules of its own: a bearer token always goes into config.json
// as registrytoken, since helpers only keep username/password pairs, and
// plaintext sends pairs there too, bypassing every helper. Two
// credentials for the same auths key are an error.
func Route(s Settings, creds []credential.Credential, plaintext bool) ([]Placement, error) {
	out := make([]Placement, 0, len(creds))
	seen := make(map[string]string, len(creds))
	for _, c := range creds {
		key := dockerconfig.Key(c.Host)
		if other, dup := seen[key]; dup {
			return nil, fmt.Errorf("hosts %q and %q both map to the Docker config key %q: keep one of them", other, c.Host, key)
		}
		seen[key] = c.Host
		p := Placement{Credential: c, Key: key}
		p.Serving, p.ServingSetting = s.HelperFor(key)
		if c.Username != "" && !plaintext {
			p.Helper = p.Serving
		}
		out = append(out, p)
	}
	return out, nil
}

// hasPair reports whether any credential is a username/password pair.
func hasPair(creds []credential.Credential) bool {
	for _, c := range creds {
		if c.Username != "" {
			return true
		}
	}
	return false
}
