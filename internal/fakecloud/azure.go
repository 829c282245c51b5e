package fakecloud

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The identity the fake Entra tenant knows.
const (
	EntraTenantID = "72f988bf-0000-4000-8000-00000000f00d"
	EntraClientID = "11111111-2222-4333-8444-555555555555"
)

// ACR's Resource Manager scopes per cloud, which the fake registry demands.
var acrScopes = map[string]string{
	"io": "https://management.azure.com/.default",
	"cn": "https://management.chinacloudapi.cn/.default",
	"us": "https://management.usgovcloudapi.net/.default",
}

// Entra is an HTTPS Microsoft Entra ID tenant: the OpenID configuration
// and the v2.0 token endpoint that azidentity's workload identity credential
// uses, reached through AZURE_AUTHORITY_HOST. It accepts the client
// credentials grant with a federated client assertion for EntraClientID,
// and only the assertion in FederatedToken when that is set.
type Entra struct {
	// Authority is the value for AZURE_AUTHORITY_HOST.
	Authority string
	// FederatedToken, when set, is the only client assertion accepted:
	// the content of the projected token file the test wrote.
	FederatedToken string
	// Lifetime is the expires_in of the access tokens; default one hour.
	Lifetime time.Duration

	access tokenSet // access tokens -> scope

	mu         sync.Mutex
	assertions []string
}

// NewEntra starts the tenant on a 127.0.0.1 HTTPS listener whose
// certificate n's client trusts; it is closed when the test ends.
func NewEntra(t testing.TB, n *HostNet) *Entra {
	t.Helper()
	e := &Entra{Lifetime: time.Hour}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", e.openIDConfig)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.token)
	srv := n.Serve(t, mux)
	e.Authority = srv.URL + "/"
	return e
}

// DeadEntraAuthority returns an AZURE_AUTHORITY_HOST value whose listener
// accepts connections and never answers, not even the TLS handshake.
func DeadEntraAuthority(t testing.TB) string {
	t.Helper()
	return "https://" + Dead(t) + "/"
}

func (e *Entra) base(r *http.Request) string {
	return "https://" + r.Host + "/" + r.PathValue("tenant")
}

func (e *Entra) openIDConfig(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("tenant") != EntraTenantID {
		entraError(w, http.StatusBadRequest, "invalid_tenant", 90002, "Tenant '"+r.PathValue("tenant")+"' not found.")
		return
	}
	b := e.base(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                b + "/v2.0",
		"token_endpoint":                        b + "/oauth2/v2.0/token",
		"authorization_endpoint":                b + "/oauth2/v2.0/authorize",
		"jwks_uri":                              "https://" + r.Host + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code", "id_token", "token"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
	})
}

// token implements the client credentials grant with a federated client
// assertion.
func (e *Entra) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		entraError(w, http.StatusBadRequest, "invalid_request", 900144, err.Error())
		return
	}
	f := r.PostForm
	assertion := f.Get("client_assertion")
	e.mu.Lock()
	e.assertions = append(e.assertions, assertion)
	e.mu.Unlock()
	scope := resourceScope(f.Get("scope"))
	switch {
	case r.PathValue("tenant") != EntraTenantID:
		entraError(w, http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+r.PathValue("tenant")+"' not found.")
	case f.Get("grant_type") != "client_credentials":
		entraError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "grant_type "+f.Get("grant_type"))
	case f.Get("client_id") != EntraClientID:
		entraError(w, http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+f.Get("client_id")+"' was not found in the directory.")
	case f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || assertion == "":
		entraError(w, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided.")
	case e.FederatedToken != "" && assertion != e.FederatedToken:
		entraError(w, http.StatusBadRequest, "invalid_client", 700213, "No matching federated identity record found for presented assertion subject.")
	case !strings.HasSuffix(scope, "/.default"):
		entraError(w, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+scope+" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
	default:
		now := time.Now()
		tok := fakeJWT(map[string]any{
			"aud": strings.TrimSuffix(scope, "/.default"), "tid": EntraTenantID, "appid": EntraClientID,
			"iss": "https://sts.windows.net/" + EntraTenantID + "/", "iat": now.Unix(), "exp": now.Add(e.Lifetime).Unix(),
		})
		e.access.add(tok, scope)
		secs := int(e.Lifetime.Seconds())
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
		})
	}
}

// resourceScope is the one resource scope of a token request, without the
// OpenID scopes MSAL adds to every request; "" if there is not exactly one.
func resourceScope(param string) string {
	var res []string
	for _, s := range strings.Fields(param) {
		switch s {
		case "openid", "offline_access", "profile":
		default:
			res = append(res, s)
		}
	}
	if len(res) != 1 {
		return ""
	}
	return res[0]
}

// entraError writes an error the way Entra ID does, with an AADSTS code
// and a trace ID on the following lines of the description.
func entraError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: 1111bbbb-22cc-dddd-ee33-ffffff444444\r\nTimestamp: 2026-01-01 00:00:00Z", aadsts, desc),
		"error_codes":       []int{aadsts},
		"trace_id":          "0000aaaa-11bb-cccc-dd22-eeeeee333333",
	})
}

// Assertions lists the client assertions presented, in order.
func (e *Entra) Assertions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.assertions...)
}

// Scope reports whether tok is an access token issued here and its scope.
func (e *Entra) Scope(tok string) (string, bool) { return e.access.lookup(tok) }

// AccessTokens lists the access tokens issued, in order.
func (e *Entra) AccessTokens() []string { return e.access.all() }

// Issued lists every token issued, as AccessTokens does.
func (e *Entra) Issued() []string { return e.access.all() }

// ACR is an Azure Container Registry's token service under the registry's
// real host name (reached through a HostNet): POST /oauth2/exchange trades
// an Entra access token issued by the fake tenant for the registry's Resource
// Manager scope for an ACR refresh token, the password docker and kubelet
// then present.
type ACR struct {
	// Host is the registry host, e.g. myregistry.azurecr.io.
	Host string
	// Lifetime is how long refresh tokens live; default three hours, as
	// on ACR.
	Lifetime time.Duration

	entra   *Entra
	refresh tokenSet // refresh tokens -> the access token traded
}

// NewACR starts the registry host's token service; host must end in
// .azurecr.io, .azurecr.cn or .azurecr.us.
func NewACR(t testing.TB, n *HostNet, host string, e *Entra) *ACR {
	t.Helper()
	a := &ACR{Host: host, Lifetime: 3 * time.Hour, entra: e}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/exchange", a.exchange)
	n.Serve(t, mux, host)
	return a
}

// WantScope is the Resource Manager scope the registry's cloud requires
// of the Entra token.
func (a *ACR) WantScope() string { return acrScopes[a.Host[strings.LastIndex(a.Host, ".")+1:]] }

func (a *ACR) exchange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		acrError(w, http.StatusBadRequest, err.Error())
		return
	}
	f := r.PostForm
	at := f.Get("access_token")
	scope, ok := a.entra.Scope(at)
	switch {
	case f.Get("grant_type") != "access_token":
		acrError(w, http.StatusBadRequest, "grant_type must be access_token")
	case f.Get("service") != a.Host:
		acrError(w, http.StatusBadRequest, "service "+f.Get("service")+" does not match the registry "+a.Host)
	case !ok:
		acrError(w, http.StatusUnauthorized, "the access token was not issued by the registry's tenant")
	case scope != a.WantScope():
		acrError(w, http.StatusUnauthorized, "the access token is for "+scope+", want "+a.WantScope())
	default:
		now := time.Now()
		tok := fakeJWT(map[string]any{
			"jti": randomToken(""), "sub": EntraClientID, "iss": "Azure Container Registry", "aud": a.Host,
			"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(a.Lifetime).Unix(),
			"grant_type": "refresh_token", "tenant": EntraTenantID, "version": "1.0",
		})
		a.refresh.add(tok, at)
		writeJSON(w, http.StatusOK, map[string]string{"refresh_token": tok})
	}
}

func acrError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": msg}}})
}

// Traded reports whether tok is a refresh token issued here and the Entra
// access token it was traded for.
func (a *ACR) Traded(tok string) (string, bool) { return a.refresh.lookup(tok) }

// Issued lists the refresh tokens issued, in order.
func (a *ACR) Issued() []string { return a.refresh.all() }
