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

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/fluxcd/flux-mirror/internal/cloudhost"
)

// acrUsername is the username ACR expects with a refresh token from its
// token exchange as the password.
const acrUsername = "00000000-0000-0000-0000-000000000000"

// fromACR mints an Azure Container Registry login: an Entra access token
// for the Resource Manager of the registry's cloud, traded at the
// registry's /oauth2/exchange for an ACR refresh token.
func fromACR(ctx context.Context, req registryRequest) (Credential, error) {
	cc, err := acrCloud(req.host)
	if err != nil {
		return Credential{}, err
	}
	scope := cc.Services[cloud.ResourceManager].Endpoint + "/.default"
	if os.Getenv("AZURE_AUTHORITY_HOST") != "" {
		// The workload identity webhook names the authority; the
		// library only reads it when no cloud is given.
		cc = cloud.Configuration{}
	}
	at, err := entraToken(ctx, req.http, scope, cc)
	if err != nil {
		return Credential{}, err
	}
	refresh, err := acrExchange(ctx, req.http, req.host, at.Token)
	if err != nil {
		return Credential{}, err
	}
	return Credential{Username: acrUsername, Password: refresh, ExpiresAt: JWTExpiry(refresh)}, nil
}

// acrCloud is the Azure cloud an ACR host belongs to, by its suffix. The
// Resource Manager endpoints of these configurations are filled in by
// azcore's arm/runtime package, which azidentity imports.
func acrCloud(host string) (cloud.Configuration, error) {
	var cc cloud.Configuration
	switch suffix := cloudhost.ACRCloud(host); suffix {
	case "io":
		cc = cloud.AzurePublic
	case "cn":
		cc = cloud.AzureChina
	case "us":
		cc = cloud.AzureGovernment
	case "de":
		return cc, fmt.Errorf("%s is in Microsoft Cloud Deutschland, which closed in 2021; its registries moved to azurecr.io", host)
	default:
		return cc, fmt.Errorf("%s is not an Azure Container Registry host (<name>.azurecr.io, .azurecr.cn or .azurecr.us)", host)
	}
	if cc.Services[cloud.ResourceManager].Endpoint == "" {
		return cc, fmt.Errorf("the Azure SDK has no Resource Manager endpoint for %s", host)
	}
	return cc, nil
}

// acrExchange trades an Entra access token for an ACR refresh token at the
// registry's token service.
func acrExchange(ctx context.Context, hc *http.Client, host, accessToken string) (string, error) {
	form := url.Values{
		"grant_type":   {"access_token"},
		"service":      {host},
		"access_token": {accessToken},
	}
	endpoint := "https://" + host + "/oauth2/exchange"
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(r)
	if err != nil {
		// The URL holds no secret; the form, which does, is not printed.
		return "", fmt.Errorf("ACR token exchange: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFileSize))
	if err != nil {
		return "", fmt.Errorf("ACR token exchange at %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ACR token exchange at %s: %s", endpoint,
			strings.ReplaceAll(acrReason(resp.Status, body), accessToken, "[token]"))
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.RefreshToken == "" {
		return "", fmt.Errorf("ACR token exchange at %s: the reply holds no refresh_token", endpoint)
	}
	return out.RefreshToken, nil
}

// acrReason is the status and the registry's error messages.
func acrReason(status string, body []byte) string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return status
	}
	var msgs []string
	for _, x := range e.Errors {
		msgs = append(msgs, x.Code+": "+firstLine(x.Message))
	}
	return status + ": " + strings.Join(msgs, "; ")
}
