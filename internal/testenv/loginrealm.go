package testenv

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/fluxcd/flux-mirror/internal/jwk"
)

// LoginRegistry is a distribution v3 registry with token auth whose token
// service (the realm, served in the test) takes a username and password, as
// the token endpoints of cloud registries take the login their identity
// service minted (ECR's AWS and authorization token password).
// go-containerregistry reaches it by the challenge exchange: basic
// credentials to the realm, a registry token back.
type LoginRegistry struct {
	*Registry
	// Realm is the token service's URL, on localhost: go-containerregistry
	// refuses a realm on a private IP other than the registry's own.
	Realm string

	check   func(username, password string) error
	key     *jose.JSONWebKey
	auth    TokenAuth
	mu      sync.Mutex
	logins  []Login
	refused []string
}

// Login is a username and password the token service accepted.
type Login struct {
	Username, Password string
}

// StartLoginRegistry starts the registry and its token service. check
// decides each login: nil accepts it (the registry token then grants every
// repository scope asked), an error refuses it with 401.
func StartLoginRegistry(t testing.TB, check func(username, password string) error) *LoginRegistry {
	t.Helper()
	dir := t.TempDir()
	privPath, pubPath, err := jwk.WriteKeyPair(dir, jwk.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := os.ReadFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	r := &LoginRegistry{check: check}
	if r.key, err = jwk.ParsePrivate(priv); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(r.serveToken))
	t.Cleanup(srv.Close)
	r.Realm = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/token"
	r.auth = TokenAuth{
		Issuer: "https://login-realm.flux-mirror.test", Service: "flux-mirror-login-registry",
		JWKS: pubPath, Realm: r.Realm,
	}
	r.Registry = StartRegistryWith(t, RegistryOptions{Token: &r.auth})
	return r
}

// Logins returns the logins accepted so far, one per token request, and
// why the others were refused.
func (r *LoginRegistry) Logins() (accepted []Login, refused []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.logins), slices.Clone(r.refused)
}

func (r *LoginRegistry) serveToken(w http.ResponseWriter, req *http.Request) {
	user, password, ok := req.BasicAuth()
	err := errors.New("no basic credentials")
	if ok {
		err = r.check(user, password)
	}
	r.mu.Lock()
	if err != nil {
		r.refused = append(r.refused, err.Error())
	} else {
		r.logins = append(r.logins, Login{user, password})
	}
	r.mu.Unlock()
	if err != nil {
		http.Error(w, "login refused: "+err.Error(), http.StatusUnauthorized)
		return
	}
	var access []Access
	for _, scope := range req.URL.Query()["scope"] {
		// repository:<name>:<actions>
		parts := strings.Split(scope, ":")
		if len(parts) == 3 && parts[0] == "repository" {
			access = append(access, RepositoryAccess(parts[1], strings.Split(parts[2], ",")...))
		}
	}
	tok, err := signRegistryToken(r.key, r.auth, 10*time.Minute, access...)
	if err != nil {
		http.Error(w, "sign the registry token: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
}
