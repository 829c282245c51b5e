package credential

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// fromAzure mints a Microsoft Entra access token for the scope
// "<aud>/.default" through azidentity's default credential chain
// (environment service principal, workload identity, managed identity,
// then the developer tools).
func fromAzure(ctx context.Context, req tokenRequest) (token, error) {
	scope := req.aud
	if !strings.HasSuffix(scope, "/.default") {
		scope += "/.default"
	}
	tok, err := entraToken(ctx, req.http, scope, cloud.Configuration{})
	if err != nil {
		return token{}, err
	}
	return token{value: tok.Token, expiresAt: tok.ExpiresOn}, nil
}

// entraToken gets an access token for scope from the default Azure
// credential chain, sending every request through hc. cc names the cloud
// whose Entra authority to use when AZURE_AUTHORITY_HOST is not set; the
// zero value means the public cloud.
//
// Instance discovery is off. The library skips it anyway for Microsoft's
// own login hosts; for any other authority host it would ask
// login.microsoftonline.com to vouch for that host, which fails for Azure
// Stack Hub and other private clouds and hangs where the public cloud is
// out of reach. The authority comes from the pod's own environment (the
// AKS webhook sets AZURE_AUTHORITY_HOST), which is trusted as much as the
// token file beside it.
func entraToken(ctx context.Context, hc *http.Client, scope string, cc cloud.Configuration) (azcore.AccessToken, error) {
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Transport: hc, Cloud: cc},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("set up the Azure credential chain: %s", firstLine(err.Error()))
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return azcore.AccessToken{}, entraError(ctx, err, scope, cc)
	}
	return tok, nil
}

// entraError condenses the credential chain's error, which lists every
// credential it tried over many lines, to one line that says what to fix.
func entraError(ctx context.Context, err error, scope string, cc cloud.Configuration) error {
	authority := authorityHost(cc)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("get a Microsoft Entra token for %s: no answer from %s (%s): %w", scope, authority, azureIdentityKind(), ctxErr)
	}
	var failed *azidentity.AuthenticationFailedError
	if errors.As(err, &failed) {
		if res := failed.RawResponse; res != nil {
			host := authority
			if res.Request != nil {
				host = res.Request.URL.Host
			}
			return fmt.Errorf("get a Microsoft Entra token for %s: %s refused %s: %s", scope, host, azureIdentityKind(), entraReason(res))
		}
		return fmt.Errorf("get a Microsoft Entra token for %s from %s with %s: %s", scope, authority, azureIdentityKind(), lastAttempt(err.Error()))
	}
	return fmt.Errorf("get a Microsoft Entra token for %s: no Azure identity found: %s", scope, missingAzureIdentity())
}

// authorityHost is the Entra authority the chain uses.
func authorityHost(cc cloud.Configuration) string {
	host := cc.ActiveDirectoryAuthorityHost
	if host == "" {
		host = os.Getenv("AZURE_AUTHORITY_HOST")
	}
	if host == "" {
		host = cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "https://"), "/")
}

// azureIdentityKind names the identity the chain tries first, from the
// environment it reads.
func azureIdentityKind() string {
	set := func(k string) bool { return os.Getenv(k) != "" }
	switch {
	case set("AZURE_TENANT_ID") && set("AZURE_CLIENT_ID") && (set("AZURE_CLIENT_SECRET") || set("AZURE_CLIENT_CERTIFICATE_PATH")):
		return "the service principal AZURE_CLIENT_ID"
	case set("AZURE_TENANT_ID") && set("AZURE_CLIENT_ID") && set("AZURE_FEDERATED_TOKEN_FILE"):
		return "workload identity (client " + os.Getenv("AZURE_CLIENT_ID") + ", token file " + os.Getenv("AZURE_FEDERATED_TOKEN_FILE") + ")"
	default:
		return "managed identity"
	}
}

// missingAzureIdentity says which variables workload identity lacks and
// how they get set on AKS.
func missingAzureIdentity() string {
	var missing []string
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"} {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	msg := "no managed identity answered"
	if len(missing) > 0 {
		msg = "workload identity is not set up (" + strings.Join(missing, ", ") + " not set) and " + msg
	}
	return msg + `; on AKS, label the pod azure.workload.identity/use: "true" and annotate its ServiceAccount with ` +
		`azure.workload.identity/client-id so the webhook sets AZURE_CLIENT_ID, AZURE_TENANT_ID and ` +
		`AZURE_FEDERATED_TOKEN_FILE; elsewhere set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET`
}

// entraReason is the status and the first line of the Entra error
// description ("AADSTS700213: No matching federated identity record …"),
// without the trace and correlation IDs that follow it.
func entraReason(res *http.Response) string {
	reason := res.Status
	body, err := runtime.Payload(res)
	if err != nil {
		return reason
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return reason
	}
	reason += " " + e.Error
	if d := firstLine(e.Description); d != "" {
		reason += ": " + d
	}
	return reason
}

// lastAttempt picks, from the chain's message, the entry of the credential
// that failed (the last one it tried, with its indented continuation
// lines), on one line and without the troubleshooting link.
func lastAttempt(msg string) string {
	var last []string
	for _, l := range strings.Split(msg, "\n") {
		switch {
		case strings.HasPrefix(l, "\t\t"):
			last = append(last, strings.TrimSpace(l))
		case strings.HasPrefix(l, "\t"):
			last = []string{strings.TrimSpace(l)}
		}
	}
	out := strings.Join(last, " ")
	if out == "" {
		out = firstLine(msg)
	}
	if i := strings.Index(out, " To troubleshoot, visit"); i >= 0 {
		out = out[:i]
	}
	return strings.TrimSpace(out)
}

// firstLine is s up to its first line break, trimmed.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(strings.TrimSuffix(s, "\r"))
}
