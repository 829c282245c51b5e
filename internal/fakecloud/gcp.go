package fakecloud

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The service account the fake metadata server runs as.
const (
	GCEServiceAccount = "node-sa@fake-project.iam.gserviceaccount.com"
	GCEProject        = "fake-project"
)

// CloudPlatformScope is the OAuth scope of Google Cloud APIs, Artifact
// Registry included.
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// GCE is a loopback Compute Engine (and GKE) metadata server, the one
// Application Default Credentials reach through GCE_METADATA_HOST. Like the
// real one it answers only requests that carry "Metadata-Flavor: Google"
// and marks its answers with the same header.
type GCE struct {
	// Host is the host:port to put in GCE_METADATA_HOST.
	Host string
	// AccessTokenLifetime is the expires_in of the access tokens it
	// issues; default one hour.
	AccessTokenLifetime time.Duration

	access tokenSet // access tokens -> scopes
	id     tokenSet // ID tokens -> audience

	mu       sync.Mutex
	requests []string // paths with query, in order
}

// NewGCE starts a metadata server that is closed when the test ends.
func NewGCE(t testing.TB) *GCE {
	t.Helper()
	g := &GCE{AccessTokenLifetime: time.Hour}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /computeMetadata/v1/instance/service-accounts/default/token", g.token)
	mux.HandleFunc("GET /computeMetadata/v1/instance/service-accounts/default/identity", g.identity)
	mux.HandleFunc("GET /computeMetadata/v1/instance/service-accounts/default/email", g.text(GCEServiceAccount))
	mux.HandleFunc("GET /computeMetadata/v1/project/project-id", g.text(GCEProject))
	mux.HandleFunc("GET /computeMetadata/v1/universe/universe-domain", g.text("googleapis.com"))
	mux.HandleFunc("GET /computeMetadata/v1/{$}", g.text("instance/\nproject/\n"))
	mux.HandleFunc("GET /{$}", g.text("computeMetadata/\n"))
	srv := httptest.NewServer(g.flavor(mux))
	t.Cleanup(srv.Close)
	g.Host = strings.TrimPrefix(srv.URL, "http://")
	return g
}

// DeadGCEMetadataHost returns a host:port for GCE_METADATA_HOST that
// accepts connections and never answers.
func DeadGCEMetadataHost(t testing.TB) string {
	t.Helper()
	return Dead(t)
}

// flavor enforces the metadata server's header contract.
func (g *GCE) flavor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.requests = append(g.requests, r.URL.RequestURI())
		g.mu.Unlock()
		w.Header().Set("Metadata-Flavor", "Google")
		if r.URL.Path != "/" && r.Header.Get("Metadata-Flavor") != "Google" {
			http.Error(w, "Missing required header \"Metadata-Flavor\": \"Google\"", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *GCE) text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/text")
		fmt.Fprint(w, body)
	}
}

// token serves an OAuth access token for the node's service account.
func (g *GCE) token(w http.ResponseWriter, r *http.Request) {
	scopes := r.URL.Query().Get("scopes")
	tok := randomToken("ya29.fake-gce-")
	g.access.add(tok, scopes)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int(g.AccessTokenLifetime.Seconds()),
		"token_type":   "Bearer",
	})
}

// identity serves a Google-signed-looking ID token for the audience; with
// format=full it carries the instance claims, as on a real VM.
func (g *GCE) identity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aud := q.Get("audience")
	if aud == "" {
		http.Error(w, "non-empty audience parameter required", http.StatusBadRequest)
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": "https://accounts.google.com", "aud": aud, "azp": "108765432101234567890",
		"sub": "108765432101234567890", "email": GCEServiceAccount, "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if q.Get("format") == "full" {
		claims["google"] = map[string]any{"compute_engine": map[string]any{
			"project_id": GCEProject, "zone": "us-central1-a", "instance_name": "fake-node",
		}}
	}
	tok := fakeJWT(claims)
	g.id.add(tok, aud)
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprint(w, tok)
}

// AccessScopes reports whether tok is an access token this server issued
// and the scopes it was asked for.
func (g *GCE) AccessScopes(tok string) (string, bool) { return g.access.lookup(tok) }

// IDAudience reports whether tok is an ID token this server issued and the
// audience it was issued for.
func (g *GCE) IDAudience(tok string) (string, bool) { return g.id.lookup(tok) }

// Issued lists every token the server issued, access and ID tokens.
func (g *GCE) Issued() []string { return append(g.access.all(), g.id.all()...) }

// Requests lists the request URIs the server received, in order.
func (g *GCE) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}
