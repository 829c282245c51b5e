package flux

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fluxcd/flux-mirror/internal/jwk"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// bearerConfig is a flux-mirror config giving host the token in
// $REGISTRY_TOKEN without a username: a registrytoken entry, which Flux
// sends as a bearer token and kubelet ignores.
func bearerConfig(host string) string { return hostConfig(host, "", "REGISTRY_TOKEN") }

// TestOCIRepositoryBearerToken: distribution v3 with token auth accepts
// nothing but a bearer token signed by a key it trusts. source-controller,
// given the Secret flux-mirror wrote from a credential without username,
// reports the refusal of an expired token and, once flux-mirror writes a
// fresh one into the same Secret, pulls the image.
func TestOCIRepositoryBearerToken(t *testing.T) {
	c := startCluster(t, "flux-bearer")
	keys := t.TempDir()
	c.fluxMirror(t, nil, "keygen", "-o", keys, "--type", "ecdsa-p256")
	priv, err := os.ReadFile(filepath.Join(keys, "privkey.json"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.ParsePrivate(priv)
	if err != nil {
		t.Fatal(err)
	}
	auth := testenv.TokenAuth{Issuer: "https://issuer.flux-mirror.test", Service: "flux-mirror-test-registry",
		JWKS: filepath.Join(keys, "pubkey.json")}
	reg := testenv.StartTokenRegistry(t, auth)
	push := testenv.DockerConfigWith(t, map[string]map[string]string{reg.Host: {
		"registrytoken": testenv.SignRegistryToken(t, key, auth, 10*time.Minute, testenv.RepositoryAccess("team/app", "pull", "push")),
	}})
	digest := testenv.PushTestImage(t, reg.Host+"/team/app:v1", push)

	expired := testenv.SignRegistryToken(t, key, auth, -time.Minute, testenv.RepositoryAccess("team/app", "pull"))
	c.writeSecret(t, "regcreds", bearerConfig(reg.Host), "REGISTRY_TOKEN="+expired)
	c.checkRegistryToken(t, "regcreds", reg.Host)
	c.create(t, ociRepositories, withSecretRef(ociRepository("app", "oci://"+reg.Host+"/team/app", "v1"), "regcreds"))
	cond := c.waitNotReady(t, ociRepositories, "app", "UNAUTHORIZED", reg.Host+"/v2/team/app/manifests/v1")
	if cond.Reason != "OCIArtifactPullFailed" {
		t.Errorf("Ready reason %q, want OCIArtifactPullFailed", cond.Reason)
	}

	fresh := testenv.SignRegistryToken(t, key, auth, 10*time.Minute, testenv.RepositoryAccess("team/app", "pull"))
	c.writeSecret(t, "regcreds", bearerConfig(reg.Host), "REGISTRY_TOKEN="+fresh)
	o := c.waitReady(t, ociRepositories, "app")
	if o.GetGeneration() != 1 {
		t.Errorf("generation %d: the object was edited", o.GetGeneration())
	}
	if rev, _ := artifact(o); rev != "v1@"+digest {
		t.Fatalf("artifact revision %q, want v1@%s", rev, digest)
	}
}

// checkRegistryToken fails unless Secret name holds for host a
// registrytoken and no username/password: what source-controller pulled
// with is the bearer token itself.
func (c *cluster) checkRegistryToken(t *testing.T, name, host string) {
	t.Helper()
	s, err := c.cs.CoreV1().Secrets(c.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(s.Data[".dockerconfigjson"], &cfg); err != nil {
		t.Fatal(err)
	}
	entry := cfg.Auths[host]
	if entry["registrytoken"] == "" || entry["auth"] != "" || entry["password"] != "" {
		keys := make([]string, 0, len(entry))
		for k := range entry {
			keys = append(keys, k)
		}
		t.Fatalf("Secret %s: entry for %s has fields %v, want registrytoken only", name, host, keys)
	}
}
