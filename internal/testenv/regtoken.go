package testenv

import (
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Access is one grant of the access claim that distribution's token auth
// requires in a bearer token (flux-mirror's jwkPath source cannot write it).
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// RepositoryAccess grants actions ("pull", "push") on one repository.
func RepositoryAccess(repo string, actions ...string) Access {
	return Access{Type: "repository", Name: repo, Actions: actions}
}

// SignRegistryToken signs with key (ES256) a token that a registry started
// with token auth a accepts: a's issuer and service, valid from 30 s ago
// for lifetime, with the access grants.
func SignRegistryToken(t testing.TB, key *jose.JSONWebKey, a TokenAuth, lifetime time.Duration, access ...Access) string {
	t.Helper()
	tok, err := signRegistryToken(key, a, lifetime, access...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signRegistryToken is SignRegistryToken returning its error, for servers
// that run outside the test's goroutine.
func signRegistryToken(key *jose.JSONWebKey, a TokenAuth, lifetime time.Duration, access ...Access) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:    a.Issuer,
		Subject:   "flux-mirror-test",
		Audience:  jwt.Audience{a.Service},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-30 * time.Second)),
		Expiry:    jwt.NewNumericDate(now.Add(lifetime)),
	}).Claims(map[string]any{"access": access}).Serialize()
}
