package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fluxcd/flux-mirror/internal/jwk"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

const (
	tokenIssuer  = "https://issuer.flux-mirror.test"
	tokenService = "flux-mirror-test-registry"
)

// signAccess signs a token distribution accepts for repo: the claims
// flux-mirror's jwkPath source writes, plus the access claim it cannot.
func signAccess(t *testing.T, key *jose.JSONWebKey, repo string, actions ...string) string {
	t.Helper()
	tok := testenv.SignRegistryToken(t, key, testenv.TokenAuth{Issuer: tokenIssuer, Service: tokenService},
		10*time.Minute, testenv.RepositoryAccess(repo, actions...))
	noteSecret(tok, "signed registry token "+strings.Join(actions, ","))
	return tok
}

// tokenRegistry starts distribution v3 verifying tokens against a key pair
// made by keygen in dir/keys, pushes the test image with a push token, and
// returns the registry, the private key, the image and its digest.
func tokenRegistry(t *testing.T, dir string) (*testenv.Registry, *jose.JSONWebKey, string, string) {
	t.Helper()
	if r := run(t, nil, "keygen", "-o", filepath.Join(dir, "keys"), "--type", "ecdsa-p256"); r.err != nil {
		t.Fatal(r.stderr)
	}
	privJSON, err := os.ReadFile(filepath.Join(dir, "keys", "privkey.json"))
	must(t, err)
	noteSecret(string(privJSON), "privkey.json")
	key, err := jwk.ParsePrivate(privJSON)
	must(t, err)
	reg := testenv.StartTokenRegistry(t, testenv.TokenAuth{
		Issuer: tokenIssuer, Service: tokenService, JWKS: filepath.Join(dir, "keys", "pubkey.json"),
	})
	ref := reg.Host + "/demo/hello:v1"
	push := testenv.DockerConfigWith(t, map[string]map[string]string{
		reg.Host: {"registrytoken": signAccess(t, key, "demo/hello", "pull", "push")},
	})
	return reg, key, ref, testenv.PushTestImage(t, ref, push)
}

// manifestStatus asks the registry for the test image's manifest with a
// bearer token and returns the status and the challenge.
func manifestStatus(t *testing.T, host, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://"+host+"/v2/demo/hello/manifests/v1", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// TestLoginBearerTokenJWKS: a host without username stores its token as
// registrytoken; crane and oras send it as-is to a distribution v3
// registry with token auth over a JWKS. The token comes from
// credential.value, signed by the test with the access claim the registry
// requires; a jwkPath token from the same key lacks that claim and is
// refused with insufficient_scope (see docs/login.md).
func TestLoginBearerTokenJWKS(t *testing.T) {
	isolate(t, false)
	dir := t.TempDir()
	reg, key, ref, digest := tokenRegistry(t, dir)
	docker := t.TempDir()
	refused(t, "crane", docker, nil, ref)

	pull := signAccess(t, key, "demo/hello", "pull")
	t.Setenv("LOGIN_TEST_BEARER", pull)
	cfg := writeFile(t, dir, "mirror.yaml", headerV2+"hosts:\n- host: "+reg.Host+"\n  credential:\n    type: jwt\n    value: ${LOGIN_TEST_BEARER}\n")
	r := login(t, "-f", cfg, "--docker-config", docker)
	path := filepath.Join(docker, "config.json")
	wantLines(t, r.stderr, "• "+reg.Host+": bearer token stored in "+path+" as registrytoken\n", "✔ Docker config "+path+" updated (1 host)")
	if strings.Contains(r.stderr, "⚠️") {
		t.Errorf("unexpected warning:\n%s", r.stderr)
	}
	raw, auths := rawAuths(t, docker)
	if e := auths[reg.Host]; len(e) != 1 || e["registrytoken"] != pull {
		t.Fatalf("config.json:\n%s", raw)
	}
	pullWith(t, docker, nil, ref, digest, "crane", "oras")

	t.Run("jwkPath token lacks access", func(t *testing.T) {
		jwkCfg := writeFile(t, dir, "jwk.yaml", header+"hosts:\n- host: "+reg.Host+"\n  credential:\n    jwkPath: keys/privkey.json\n    iss: "+tokenIssuer+"\n    sub: ci\n    aud: "+tokenService+"\n")
		jwkDocker := t.TempDir()
		login(t, "-f", jwkCfg, "--docker-config", jwkDocker)
		_, auths := rawAuths(t, jwkDocker)
		signed := auths[reg.Host]["registrytoken"]
		noteSecret(signed, "jwkPath token")
		if signed == "" {
			t.Fatal("no registrytoken written")
		}
		refused(t, "crane", jwkDocker, nil, ref)
		// Same key, issuer and audience: only the access claim differs.
		if status, _ := manifestStatus(t, reg.Host, pull); status != http.StatusOK {
			t.Fatalf("the token with access got %d", status)
		}
		status, challenge := manifestStatus(t, reg.Host, signed)
		if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="insufficient_scope"`) {
			t.Fatalf("the jwkPath token got %d %q, want 401 with insufficient_scope", status, challenge)
		}
	})

	t.Run("a helper serves the host", func(t *testing.T) {
		isolate(t, true)
		pass := testenv.StartPass(t)
		pass.SetEnv(t)
		served := t.TempDir()
		must(t, os.WriteFile(filepath.Join(served, "config.json"), []byte(`{"auths":{},"credsStore":"pass"}`), 0o600))
		r := login(t, "-f", cfg, "--docker-config", served)
		wantLines(t, r.stderr, "⚠️ docker-credential-pass serves "+reg.Host+" (credsStore) but cannot keep a bearer token, so it went to "+filepath.Join(served, "config.json"))
		if list := pass.HelperOutput(t, "list", ""); strings.TrimSpace(list) != "{}" {
			t.Errorf("the helper was given something: %s", list)
		}
		// What the warning says: crane reads registrytoken from the file
		// even so, oras asks only the helper.
		pullWith(t, served, pass.Env(), ref, digest, "crane")
		refused(t, "oras", served, pass.Env(), ref)
	})
}
