package fakecloud

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Actions is a loopback GitHub/Forgejo Actions OIDC token endpoint. Like the
// real one it answers GET <URL>&audience=<aud> carrying
// "Authorization: bearer <RequestToken>" with {"value": <signed JWT>}.
type Actions struct {
	// URL is what a runner puts in ACTIONS_ID_TOKEN_REQUEST_URL: it already
	// has a query (api-version), which the endpoint insists on.
	URL string
	// RequestToken is what a runner puts in ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	RequestToken string
	// Issuer is the iss claim of the ID tokens.
	Issuer string
	// Subject is the sub claim of the ID tokens.
	Subject string
	// Lifetime is how long an ID token lives.
	Lifetime time.Duration

	key *ecdsa.PrivateKey
	srv *httptest.Server

	mu        sync.Mutex
	audiences []string // of the tokens issued, in order
	status    int      // when set, every request fails with it
}

// actionsPath and actionsQuery mimic the URL GitHub hands to a job.
const (
	actionsPath  = "/_apis/pipelines/workflows/4242/idtoken"
	actionsQuery = "api-version=2.0"
)

// NewActions starts the endpoint on loopback; it stops when the test ends.
func NewActions(t testing.TB) *Actions {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &Actions{
		RequestToken: "actions-request-" + rand.Text(),
		Issuer:       "https://token.actions.example.invalid",
		Subject:      "repo:example/app:ref:refs/heads/main",
		Lifetime:     5 * time.Minute,
		key:          key,
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	a.URL = a.srv.URL + actionsPath + "?" + actionsQuery
	return a
}

// Setenv sets the two variables a runner sets for a job that may request
// ID tokens, for the rest of the test.
func (a *Actions) Setenv(t testing.TB) {
	t.Helper()
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", a.URL)
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", a.RequestToken)
}

// FailWith makes every later request fail with the HTTP status code.
func (a *Actions) FailWith(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status = status
}

// Audiences returns the audiences of every ID token issued so far, in order.
func (a *Actions) Audiences() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.audiences...)
}

// Verify checks an ID token's signature, issuer and audience and that it
// has not expired, and returns its claims.
func (a *Actions) Verify(token, audience string) (jwt.Claims, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return jwt.Claims{}, err
	}
	var claims jwt.Claims
	if err := parsed.Claims(&a.key.PublicKey, &claims); err != nil {
		return jwt.Claims{}, err
	}
	err = claims.Validate(jwt.Expected{Issuer: a.Issuer, AnyAudience: jwt.Audience{audience}, Time: time.Now()})
	return claims, err
}

func (a *Actions) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	status := a.status
	a.mu.Unlock()
	q := r.URL.Query()
	switch {
	case status != 0:
		http.Error(w, `{"message":"forced failure"}`, status)
		return
	case r.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	case r.URL.Path != actionsPath || q.Get("api-version") != "2.0":
		http.Error(w, "not found: the request lost the URL's path or query", http.StatusNotFound)
		return
	case !a.authorized(r.Header.Get("Authorization")):
		http.Error(w, `{"message":"bad request token"}`, http.StatusUnauthorized)
		return
	case len(q["audience"]) == 0 || slices.Contains(q["audience"], ""):
		http.Error(w, `{"message":"want one or more non-empty audience parameters"}`, http.StatusBadRequest)
		return
	}
	token, err := a.sign(q["audience"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"value": token})
}

// authorized checks the bearer request token; the scheme is
// case-insensitive, as in HTTP.
func (a *Actions) authorized(header string) bool {
	scheme, cred, ok := strings.Cut(header, " ")
	return ok && strings.EqualFold(scheme, "bearer") && cred == a.RequestToken
}

// sign issues an ID token for the audiences (one aud claim holding them
// all, as for several audience parameters) and records them.
func (a *Actions) sign(audiences []string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "fake-actions"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := jwt.Claims{
		Issuer:    a.Issuer,
		Subject:   a.Subject,
		Audience:  jwt.Audience(audiences),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(a.Lifetime)),
		ID:        rand.Text(),
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.audiences = append(a.audiences, audiences...)
	a.mu.Unlock()
	return token, nil
}
