package flux

import (
	"fmt"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// basicConfig is a flux-mirror config giving host a username/password
// pair, the password read from $REGISTRY_PASSWORD.
func basicConfig(host string) string { return hostConfig(host, "robot", "REGISTRY_PASSWORD") }

// hostConfig is a v1beta2 config of one host whose token is read from the
// environment variable; with a username it is that pair's password.
func hostConfig(host, username, variable string) string {
	user := ""
	if username != "" {
		user = "      username: " + username + "\n"
	}
	return fmt.Sprintf(`apiVersion: mirror.plugin.fluxcd.io/v1beta2
kind: Config
hosts:
  - host: %s
    credential:
      type: jwt
%s      value: ${%s}
`, host, user, variable)
}

// TestOCIRepositoryHtpasswd: source-controller pulls an image from a
// registry with htpasswd auth with the Secret flux-mirror wrote; once the
// registry's password changes it reports the registry's refusal; once a
// flux-mirror run writes the new password into the same Secret it is
// Ready again, the object untouched.
func TestOCIRepositoryHtpasswd(t *testing.T) {
	c := startCluster(t, "flux-htpasswd")
	reg := testenv.StartHtpasswdRegistry(t, "robot", "first-password-1a")
	push := testenv.DockerConfigWith(t, map[string]map[string]string{reg.Host: testenv.BasicAuth("robot", "first-password-1a")})
	digest := testenv.PushTestImage(t, reg.Host+"/team/app:v1", push)

	c.writeSecret(t, "regcreds", basicConfig(reg.Host), "REGISTRY_PASSWORD=first-password-1a")
	c.create(t, ociRepositories, withSecretRef(ociRepository("app", "oci://"+reg.Host+"/team/app", "v1"), "regcreds"))
	o := c.waitReady(t, ociRepositories, "app")
	if rev, _ := artifact(o); rev != "v1@"+digest {
		t.Fatalf("artifact revision %q, want v1@%s", rev, digest)
	}

	// The registry now wants another password; the Secret still holds the
	// old one.
	reg.Restart(t, testenv.RegistryOptions{Debian: true, User: "robot", Password: "second-password-2b"})
	cond := c.waitNotReady(t, ociRepositories, "app", "UNAUTHORIZED", reg.Host+"/v2/team/app/manifests/v1")
	if cond.Reason != "OCIArtifactPullFailed" {
		t.Errorf("Ready reason %q, want OCIArtifactPullFailed", cond.Reason)
	}

	c.writeSecret(t, "regcreds", basicConfig(reg.Host), "REGISTRY_PASSWORD=second-password-2b")
	o = c.waitReady(t, ociRepositories, "app")
	if o.GetGeneration() != 1 {
		t.Errorf("generation %d: the object was edited", o.GetGeneration())
	}
	if rev, _ := artifact(o); rev != "v1@"+digest {
		t.Fatalf("artifact revision %q, want v1@%s", rev, digest)
	}
}
