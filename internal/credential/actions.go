package credential

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// The variables an Actions runner sets in a job that may request an OIDC ID
// token; GitHub and Forgejo use the same names.
const (
	envActionsTokenURL     = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envActionsRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// fromActions requests a GitHub or Forgejo Actions OIDC ID token for
// req.aud from the runner's token endpoint.
func fromActions(ctx context.Context, req tokenRequest) (token, error) {
	provider := req.cred.Provider
	endpoint, requestToken, err := actionsEnv(provider)
	if err != nil {
		return token{}, err
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return token{}, fmt.Errorf("credential.provider %s: %s is not an http(s) URL", provider, envActionsTokenURL)
	}
	// The runner's URL already carries a query (api-version, placeholder):
	// append to it rather than rebuild it, so it reaches the server as given.
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += url.Values{"audience": req.audiences}.Encode()

	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return token{}, fmt.Errorf("credential.provider %s: %w", provider, err)
	}
	httpReq.Header.Set("Authorization", "bearer "+requestToken)
	httpReq.Header.Set("Accept", "application/json")
	resp, err := req.http.Do(httpReq)
	if err != nil {
		// The error quotes the URL, which holds no secret; the request token
		// travels only in the header.
		return token{}, fmt.Errorf("credential.provider %s: request an ID token from %s: %w", provider, u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return token{}, fmt.Errorf("credential.provider %s: token endpoint %s answered %s", provider, u.Host, resp.Status)
	}
	var reply struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxFileSize)).Decode(&reply); err != nil {
		return token{}, fmt.Errorf("credential.provider %s: token endpoint %s sent a reply that is not JSON", provider, u.Host)
	}
	if reply.Value == "" {
		return token{}, fmt.Errorf("credential.provider %s: token endpoint %s sent no ID token (empty \"value\")", provider, u.Host)
	}
	exp, err := parseJWTExpiry(reply.Value)
	if err != nil {
		return token{}, fmt.Errorf("credential.provider %s: token endpoint %s: %w", provider, u.Host, err)
	}
	return token{value: reply.Value, expiresAt: exp}, nil
}

// actionsEnv reads the token endpoint and the request token, or explains
// how to make the runner provide them.
func actionsEnv(provider string) (endpoint, requestToken string, err error) {
	endpoint = os.Getenv(envActionsTokenURL)
	requestToken = os.Getenv(envActionsRequestToken)
	var missing []string
	if endpoint == "" {
		missing = append(missing, envActionsTokenURL)
	}
	if requestToken == "" {
		missing = append(missing, envActionsRequestToken)
	}
	if len(missing) == 0 {
		return endpoint, requestToken, nil
	}
	how := "grant the job `permissions: id-token: write` in the workflow"
	if provider == config.SourceForgejo {
		how = "set `enable-openid-connect: true` in the workflow (Forgejo's counterpart of GitHub's " +
			"`permissions: id-token: write`; Forgejo v15 or later)"
	}
	verb := "is"
	if len(missing) > 1 {
		verb = "are"
	}
	return "", "", fmt.Errorf("credential.provider %s: %s %s not set: the runner sets them only for jobs "+
		"allowed to request an OIDC ID token; %s", provider, strings.Join(missing, " and "), verb, how)
}
