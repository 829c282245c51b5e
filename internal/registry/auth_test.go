package registry

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestUsernameChallenge: a credential with username is the password of the
// registry's challenge, on Debian's docker-registry (distribution 2.8) and
// distribution v3, both with htpasswd; a wrong password fails naming the
// host and not the password.
func TestUsernameChallenge(t *testing.T) {
	for _, debian := range []bool{true, false} {
		t.Run(map[bool]string{true: "docker-registry 2.8", false: "distribution v3"}[debian], func(t *testing.T) {
			const user, password = "alice", "s3cret-password-for-alice"
			reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: debian, User: user, Password: password})
			r, _ := newRegistries(t, t.TempDir(), config.Host{
				Host: reg.Host, Credential: &config.Source{Username: user, Value: new(password)},
			})
			roundTrip(t, reg.Host+"/demo/app:v1", r.RemoteOptions())

			wrong := "wrong-password-not-to-be-printed"
			bad, _ := newRegistries(t, t.TempDir(), config.Host{
				Host: reg.Host, Credential: &config.Source{Username: user, Value: new(wrong)},
			})
			err := push(reg.Host+"/demo/app:v2", randomImage(t, 1, 1024), bad.RemoteOptions())
			if err == nil || !strings.Contains(err.Error(), reg.Host) {
				t.Fatalf("push with a wrong password: err = %v, want an error naming %s", err, reg.Host)
			}
			assertNoSecret(t, err, wrong, password)
		})
	}
}

// TestDockerConfigForUnlistedHost: a host not in hosts gets its credential
// from the Docker config, here through docker-credential-pass over a real
// pass store, as crane would.
func TestDockerConfigForUnlistedHost(t *testing.T) {
	const user, password = "bob", "pass-stored-password"
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true, User: user, Password: password})
	pass := testenv.StartPass(t)
	pass.SetEnv(t)
	input, err := json.Marshal(map[string]string{"ServerURL": reg.Host, "Username": user, "Secret": password})
	if err != nil {
		t.Fatal(err)
	}
	pass.HelperOutput(t, "store", string(input))
	dockerConfig := t.TempDir()
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(`{"credsStore":"pass"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dockerConfig)
	t.Setenv("PATH", filepath.Dir(pass.Helper)+":"+os.Getenv("PATH"))

	// A listed host elsewhere does not change the lookup of this one.
	other := config.Host{Host: "other.registry.invalid", Credential: &config.Source{Username: "x", Value: new("y")}}
	r, _ := newRegistries(t, t.TempDir(), other)
	roundTrip(t, reg.Host+"/demo/app:v1", r.RemoteOptions())

	// The same registry with an empty Docker config is refused: the
	// credential above came from pass.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	anon, _ := newRegistries(t, t.TempDir())
	if err := push(reg.Host+"/demo/app:v2", randomImage(t, 1, 1024), anon.RemoteOptions()); err == nil {
		t.Fatal("push without credentials succeeded")
	}
}
