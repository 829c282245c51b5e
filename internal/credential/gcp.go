package credential

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/compute/metadata"
)

// googleTokenURL is Google's OAuth 2.0 token endpoint, the default of a
// service account key without token_uri.
const googleTokenURL = "https://oauth2.googleapis.com/token"

// fromGCP mints a Google ID token for req.aud through Application Default
// Credentials: from a service account key, from workload identity
// federation that impersonates a service account, or from the metadata
// server of GCE and GKE (in the full format, with the instance claims).
//
// It does not use the library's idtoken package: that package links gRPC
// and OpenTelemetry into the binary, and for federated and impersonated
// credentials it sends generateIdToken without credentials
// (googleapis/google-cloud-go#19939). The pieces it would assemble are
// used directly instead, with req.http for every call but those to the
// metadata server (see fromGAR).
func fromGCP(ctx context.Context, req tokenRequest) (token, error) {
	path, data, err := googleCredentialsFile(ctx)
	if err != nil {
		return token{}, err
	}
	var tok string
	if path == "" {
		tok, err = idTokenFromMetadata(ctx, req.aud)
	} else {
		tok, err = idTokenFromFile(ctx, req, data)
	}
	if err != nil {
		return token{}, fmt.Errorf("get a Google ID token for audience %q %s: %w", req.aud, googleSource(path), err)
	}
	return token{value: tok, expiresAt: JWTExpiry(tok)}, nil
}

// idTokenFromMetadata asks the metadata server for an ID token.
func idTokenFromMetadata(ctx context.Context, aud string) (string, error) {
	q := url.Values{"audience": {aud}, "format": {"full"}}
	tok, err := metadata.NewWithOptions(&metadata.Options{}).
		GetWithContext(ctx, "instance/service-accounts/default/identity?"+q.Encode())
	if err != nil {
		return "", err
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("the metadata server returned an empty ID token")
	}
	return tok, nil
}

// googleCredentialsJSON is the part of a credentials file that decides how
// it yields ID tokens.
type googleCredentialsJSON struct {
	Type              string          `json:"type"`
	ImpersonationURL  string          `json:"service_account_impersonation_url"`
	SourceCredentials json.RawMessage `json:"source_credentials"`
	UniverseDomain    string          `json:"universe_domain"`
	ClientEmail       string          `json:"client_email"`
	PrivateKey        string          `json:"private_key"`
	PrivateKeyID      string          `json:"private_key_id"`
	TokenURI          string          `json:"token_uri"`
}

// idTokenFromFile mints an ID token with the credentials file data.
func idTokenFromFile(ctx context.Context, req tokenRequest, data []byte) (string, error) {
	var f googleCredentialsJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return "", fmt.Errorf("parse the credentials file: %w", err)
	}
	opts := &credentials.DetectOptions{Scopes: []string{cloudPlatformScope}, Client: req.http}
	switch credentials.CredType(f.Type) {
	case credentials.ServiceAccount:
		return idTokenFromKey(ctx, req, f)
	case credentials.ExternalAccount:
		if f.ImpersonationURL == "" {
			return "", fmt.Errorf("workload identity federation without service account impersonation cannot " +
				"mint ID tokens (Google issues them to service accounts only): create the configuration with " +
				"--service-account so that it impersonates one")
		}
		// The federated identity itself calls generateIdToken on the
		// service account, so the base credentials must not impersonate.
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return "", fmt.Errorf("parse the credentials file: %w", err)
		}
		delete(raw, "service_account_impersonation_url")
		base, err := json.Marshal(raw)
		if err != nil {
			return "", err
		}
		creds, err := credentials.NewCredentialsFromJSON(credentials.ExternalAccount, base, opts)
		if err != nil {
			return "", err
		}
		return idTokenByImpersonation(ctx, req, creds, f.ImpersonationURL)
	case credentials.ImpersonatedServiceAccount:
		var src struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(f.SourceCredentials, &src); err != nil {
			return "", fmt.Errorf("parse source_credentials: %w", err)
		}
		creds, err := credentials.NewCredentialsFromJSON(credentials.CredType(src.Type), f.SourceCredentials, opts)
		if err != nil {
			return "", fmt.Errorf("source_credentials: %w", err)
		}
		return idTokenByImpersonation(ctx, req, creds, f.ImpersonationURL)
	default:
		return "", fmt.Errorf("credentials of type %q cannot mint ID tokens: use a service account key, "+
			"workload identity federation that impersonates a service account, an impersonated_service_account "+
			"file, or the metadata server", f.Type)
	}
}

// idTokenFromKey signs a JWT-bearer grant asking the token endpoint for an
// ID token for req.aud.
func idTokenFromKey(ctx context.Context, req tokenRequest, f googleCredentialsJSON) (string, error) {
	if f.UniverseDomain != "" && f.UniverseDomain != "googleapis.com" {
		return "", fmt.Errorf("service account keys of universe %q cannot mint ID tokens here; use the metadata server", f.UniverseDomain)
	}
	tokenURL := f.TokenURI
	if tokenURL == "" {
		tokenURL = googleTokenURL
	}
	tp, err := auth.New2LOTokenProvider(&auth.Options2LO{
		Email:         f.ClientEmail,
		PrivateKey:    []byte(f.PrivateKey),
		PrivateKeyID:  f.PrivateKeyID,
		TokenURL:      tokenURL,
		UseIDToken:    true,
		PrivateClaims: map[string]any{"target_audience": req.aud},
		Client:        req.http,
	})
	if err != nil {
		return "", fmt.Errorf("service account key: %w", err)
	}
	tok, err := tp.Token(ctx)
	if err != nil {
		return "", err
	}
	return tok.Value, nil
}

// idTokenByImpersonation calls IAM Credentials' generateIdToken for the
// service account of impersonationURL (a generateAccessToken URL, whose
// host also carries the universe domain), authenticated as creds.
func idTokenByImpersonation(ctx context.Context, req tokenRequest, creds *auth.Credentials, impersonationURL string) (string, error) {
	endpoint, ok := strings.CutSuffix(impersonationURL, ":generateAccessToken")
	if !ok || !strings.HasPrefix(endpoint, "https://") {
		return "", fmt.Errorf("service_account_impersonation_url %q is not an IAM Credentials generateAccessToken URL", impersonationURL)
	}
	caller, err := creds.Token(ctx)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]any{"audience": req.aud, "includeEmail": true})
	if err != nil {
		return "", err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+":generateIdToken", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+caller.Value)
	resp, err := req.http.Do(r)
	if err != nil {
		return "", fmt.Errorf("generateIdToken: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, MaxFileSize))
	if err != nil {
		return "", fmt.Errorf("generateIdToken: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("generateIdToken at %s: %s", r.URL.Host, googleAPIError(resp.Status, reply))
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(reply, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("generateIdToken at %s: the reply holds no token", r.URL.Host)
	}
	return out.Token, nil
}

// googleAPIError condenses a Google API error reply to its status and
// message.
func googleAPIError(status string, body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return status + ": " + e.Error.Message
	}
	return status
}
