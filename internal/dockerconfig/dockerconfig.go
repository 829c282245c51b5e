// Package dockerconfig renders resolved registry credentials as the Docker
// config JSON that kubelet, containerd, docker and go-containerregistry read.
package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/fluxcd/flux-mirror/internal/cloudhost"
	"github.com/fluxcd/flux-mirror/internal/credential"
)

// DockerHubKey is the auths key under which docker, kubelet and
// go-containerregistry look up Docker Hub credentials.
const DockerHubKey = "https://index.docker.io/v1/"

// Key returns the auths key for a registry host: the host itself, except
// for Docker Hub's names, which map to DockerHubKey.
func Key(host string) string {
	if cloudhost.IsDockerHub(host) {
		return DockerHubKey
	}
	return host
}

// Entry is one auths entry. A username/password pair is written with its
// base64 auth as well (skopeo reads only auth); a bearer token is written
// as registrytoken. The field order is kubectl's.
type Entry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

type file struct {
	Auths map[string]Entry `json:"auths"`
}

// NewEntry returns the auths entry for a credential.
func NewEntry(c credential.Credential) Entry {
	if c.Username == "" {
		return Entry{RegistryToken: c.Token}
	}
	return Entry{
		Username: c.Username,
		Password: c.Password,
		Auth:     base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password)),
	}
}

// Render returns the Docker config JSON for creds: one auths entry per
// credential, keys sorted, compact, no trailing newline, so the same
// credentials always give the same bytes. Two credentials that map to the
// same key are an error.
func Render(creds []credential.Credential) ([]byte, error) {
	auths := make(map[string]Entry, len(creds))
	for _, c := range creds {
		k := Key(c.Host)
		if _, dup := auths[k]; dup {
			return nil, fmt.Errorf("hosts %q and another host both map to the Docker config key %q", c.Host, k)
		}
		auths[k] = NewEntry(c)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Tokens may hold '&', '<' or '>': keep them as they are.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(file{Auths: auths}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
