package registry

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fluxcd/flux-mirror/internal/jwk"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

const (
	registryIssuer  = "https://issuer.flux-mirror.test"
	registryService = "flux-mirror-test-registry"
)

// keyPair is a JWK key pair written by flux-mirror's own key writer.
type keyPair struct {
	dir     string // holds privkey.json and pubkey.json
	private *jose.JSONWebKey
	public  jose.JSONWebKeySet
}

func newKeyPair(t *testing.T, dir string) keyPair {
	t.Helper()
	privPath, pubPath, err := jwk.WriteKeyPair(dir, jwk.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	privJSON, err := os.ReadFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.ParsePrivate(privJSON)
	if err != nil {
		t.Fatal(err)
	}
	pubJSON, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	kp := keyPair{dir: dir, private: key}
	if err := json.Unmarshal(pubJSON, &kp.public); err != nil {
		t.Fatal(err)
	}
	return kp
}

// signRegistryToken signs a token distribution's token auth accepts: the
// registry's issuer and service, and an access claim.
func (k keyPair) signRegistryToken(t *testing.T, lifetime time.Duration, access ...testenv.Access) string {
	t.Helper()
	return testenv.SignRegistryToken(t, k.private, *tokenAuth(k), lifetime, access...)
}

// repoAccess grants pull and push on each repository.
func repoAccess(repos ...string) []testenv.Access {
	var a []testenv.Access
	for _, r := range repos {
		a = append(a, testenv.RepositoryAccess(r, "pull", "push"))
	}
	return a
}

// tokenRegistry starts distribution v3 with token auth trusting k's public
// key; its realm leads nowhere useful, so clients must bring a token.
// (testenv.StartLoginRegistry has a token service.)
func tokenRegistry(t *testing.T, k keyPair, o testenv.RegistryOptions) *testenv.Registry {
	t.Helper()
	o.Token = tokenAuth(k)
	return testenv.StartRegistryWith(t, o)
}

// tokenAuth is the token auth of a registry trusting k's public key.
func tokenAuth(k keyPair) *testenv.TokenAuth {
	return &testenv.TokenAuth{
		Issuer: registryIssuer, Service: registryService,
		JWKS: filepath.Join(k.dir, jwk.PublicKeyFile),
	}
}

// challenges counts the requests a registry answered with 401.
func challenges(t *testing.T, reg *testenv.Registry) int {
	t.Helper()
	// AccessLog waits until the log stops growing: a 401 is never missed
	// for not being written yet.
	return testenv.CountRequests(reg.AccessLog(t), "", ".", 401)
}
