package fakecloud

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// IAMCredentialsHost is the real IAM Credentials API host; GoogleAPIs
// serves it through a HostNet.
const IAMCredentialsHost = "iamcredentials.googleapis.com"

// WorkloadPoolAudience is the workload identity pool provider that the
// external_account files of GoogleAPIs name, and that its STS requires.
const WorkloadPoolAudience = "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/fake-pool/providers/fake-provider"

// GoogleAPIs fakes the Google token services a workload outside Compute
// Engine talks to: the STS token exchange of workload identity federation
// and the OAuth 2.0 token endpoint of service account keys (both on
// loopback HTTP, the URLs that credential files carry), and IAM
// Credentials' generateAccessToken and generateIdToken (HTTPS under its
// real name through a HostNet), which accept only tokens the other two
// issued.
type GoogleAPIs struct {
	// TokenURL is the OAuth 2.0 token endpoint put in service account keys.
	TokenURL string
	// STSURL is the token_url put in external_account files.
	STSURL string

	access tokenSet // access tokens -> who they were issued to
	id     tokenSet // ID tokens -> audience

	mu       sync.Mutex
	subjects []string                  // subject tokens presented to STS
	keys     map[string]*rsa.PublicKey // service account email -> key
}

// NewGoogleAPIs starts the fakes; they are closed when the test ends.
func NewGoogleAPIs(t testing.TB, n *HostNet) *GoogleAPIs {
	t.Helper()
	g := &GoogleAPIs{keys: map[string]*rsa.PublicKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", g.stsExchange)
	mux.HandleFunc("POST /token", g.oauthToken)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	g.STSURL = srv.URL + "/v1/token"
	g.TokenURL = srv.URL + "/token"

	iam := http.NewServeMux()
	iam.HandleFunc("POST /v1/projects/-/serviceAccounts/{call}", g.iamCall)
	n.Serve(t, iam, IAMCredentialsHost)
	return g
}

// stsExchange implements the RFC 8693 token exchange of STS.
func (g *GoogleAPIs) stsExchange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
		oauthError(w, "unsupported_grant_type", "grant_type "+f.Get("grant_type"))
	case f.Get("audience") != WorkloadPoolAudience:
		oauthError(w, "invalid_target", "unknown workload identity pool provider "+f.Get("audience"))
	case f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt" || f.Get("subject_token") == "":
		oauthError(w, "invalid_request", "want a jwt subject token")
	default:
		g.mu.Lock()
		g.subjects = append(g.subjects, f.Get("subject_token"))
		g.mu.Unlock()
		tok := randomToken("ya29.fake-sts-")
		g.access.add(tok, "principal://federated/"+f.Get("scope"))
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token":      tok,
			"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
			"token_type":        "Bearer",
			"expires_in":        3600,
		})
	}
}

// oauthToken implements the JWT-bearer grant of service account keys: it
// verifies the assertion with the key it made, then issues an ID token for
// target_audience or an access token for scope.
func (g *GoogleAPIs) oauthToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, "unsupported_grant_type", "want the jwt-bearer grant")
		return
	}
	claims, err := g.verifyAssertion(r.PostForm.Get("assertion"))
	if err != nil {
		oauthError(w, "invalid_grant", err.Error())
		return
	}
	email, _ := claims["iss"].(string)
	if aud, _ := claims["target_audience"].(string); aud != "" {
		tok := g.idToken(aud, email)
		writeJSON(w, http.StatusOK, map[string]any{"id_token": tok})
		return
	}
	tok := randomToken("ya29.fake-key-")
	g.access.add(tok, email)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599})
}

func (g *GoogleAPIs) verifyAssertion(assertion string) (map[string]any, error) {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("assertion: %w", err)
	}
	var unverified map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, err
	}
	email, _ := unverified["iss"].(string)
	g.mu.Lock()
	key := g.keys[email]
	g.mu.Unlock()
	if key == nil {
		return nil, fmt.Errorf("no key for %q", email)
	}
	var claims map[string]any
	if err := tok.Claims(key, &claims); err != nil {
		return nil, fmt.Errorf("assertion signature: %w", err)
	}
	if claims["aud"] != g.TokenURL {
		return nil, fmt.Errorf("assertion aud %v, want %s", claims["aud"], g.TokenURL)
	}
	return claims, nil
}

// iamCall serves generateIdToken and generateAccessToken for a service
// account, to a caller holding an access token issued here.
func (g *GoogleAPIs) iamCall(w http.ResponseWriter, r *http.Request) {
	email, method, _ := strings.Cut(r.PathValue("call"), ":")
	if _, ok := g.access.lookup(bearer(r)); !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
			"code": 401, "status": "UNAUTHENTICATED", "message": "Request is missing required authentication credential.",
		}})
		return
	}
	var body struct {
		Audience     string   `json:"audience"`
		IncludeEmail bool     `json:"includeEmail"`
		Scope        []string `json:"scope"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch method {
	case "generateIdToken":
		if body.Audience == "" {
			http.Error(w, "audience is required", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"token": g.idToken(body.Audience, email)})
	case "generateAccessToken":
		tok := randomToken("ya29.fake-impersonated-")
		g.access.add(tok, email)
		writeJSON(w, http.StatusOK, map[string]any{
			"accessToken": tok, "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	default:
		http.Error(w, "unknown method "+method, http.StatusNotFound)
	}
}

func (g *GoogleAPIs) idToken(aud, email string) string {
	now := time.Now()
	tok := fakeJWT(map[string]any{
		"iss": "https://accounts.google.com", "aud": aud, "sub": "1122334455", "email": email,
		"email_verified": true, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	g.id.add(tok, aud)
	return tok
}

// ServiceAccountKeyJSON makes a service account key file for email whose
// token_uri is this fake, which knows the key.
func (g *GoogleAPIs) ServiceAccountKeyJSON(t testing.TB, email string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.keys[email] = &key.PublicKey
	g.mu.Unlock()
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": GCEProject, "private_key_id": "fake-key-id",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": "1122334455", "token_uri": g.TokenURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ExternalAccountJSON makes a workload identity federation file that
// exchanges the JWT in subjectTokenFile at this fake's STS; with
// impersonate set it also impersonates that service account.
func (g *GoogleAPIs) ExternalAccountJSON(t testing.TB, subjectTokenFile, impersonate string) []byte {
	t.Helper()
	cfg := map[string]any{
		"type":               "external_account",
		"audience":           WorkloadPoolAudience,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":          g.STSURL,
		"credential_source":  map[string]any{"file": subjectTokenFile},
	}
	if impersonate != "" {
		cfg["service_account_impersonation_url"] = "https://" + IAMCredentialsHost +
			"/v1/projects/-/serviceAccounts/" + impersonate + ":generateAccessToken"
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SubjectTokens lists the subject tokens presented to STS, in order.
func (g *GoogleAPIs) SubjectTokens() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.subjects...)
}

// AccessTokenOwner reports whether tok is an access token issued here and
// to whom.
func (g *GoogleAPIs) AccessTokenOwner(tok string) (string, bool) { return g.access.lookup(tok) }

// IDAudience reports whether tok is an ID token issued here and its
// audience.
func (g *GoogleAPIs) IDAudience(tok string) (string, bool) { return g.id.lookup(tok) }

// AccessTokens lists the access tokens issued here, in order.
func (g *GoogleAPIs) AccessTokens() []string { return g.access.all() }

// Issued lists every token issued here, access and ID tokens.
func (g *GoogleAPIs) Issued() []string { return append(g.access.all(), g.id.all()...) }

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}
