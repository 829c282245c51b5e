package credential

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

// azureWorkloadIdentity sets the variables the AKS workload identity
// webhook injects, with a projected token file holding projected, and an
// authority at the fake tenant.
func azureWorkloadIdentity(t *testing.T, e *fakecloud.Entra, projected string) {
	t.Helper()
	t.Setenv("AZURE_CLIENT_ID", fakecloud.EntraClientID)
	t.Setenv("AZURE_TENANT_ID", fakecloud.EntraTenantID)
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", writeTemp(t, "azure-identity-token", projected))
	t.Setenv("AZURE_AUTHORITY_HOST", e.Authority)
}

func TestAzureWorkloadIdentity(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	entra := fakecloud.NewEntra(t, hn)
	entra.FederatedToken = "projected-sa-token-for-entra"
	azureWorkloadIdentity(t, entra, entra.FederatedToken)

	for aud, scope := range map[string]string{
		"api://flux-mirror-registry":           "api://flux-mirror-registry/.default",
		"https://registry.example.com/":        "https://registry.example.com//.default",
		"api://already-scoped/.default":        "api://already-scoped/.default",
		"00000000-1111-2222-3333-444444444444": "00000000-1111-2222-3333-444444444444/.default",
	} {
		tok, err := fromAzure(context.Background(), tokenRequest{http: hn.Client(), host: "registry.example.com", aud: aud})
		if err != nil {
			t.Fatalf("aud %q: %v", aud, err)
		}
		if got, ok := entra.Scope(tok.value); !ok || got != scope {
			t.Errorf("aud %q: token issued %v for scope %q, want %q", aud, ok, got, scope)
		}
		near(t, "expiry", tok.expiresAt, time.Now().Add(time.Hour))
	}
	for _, a := range entra.Assertions() {
		if a != "projected-sa-token-for-entra" {
			t.Errorf("client assertion %q, want the projected token file's content", a)
		}
	}
}

func TestAzureRefusedAssertion(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	entra := fakecloud.NewEntra(t, hn)
	entra.FederatedToken = "the-token-entra-trusts"
	azureWorkloadIdentity(t, entra, "a-token-from-another-cluster")

	_, err := fromAzure(context.Background(), tokenRequest{http: hn.Client(), host: "r.example", aud: "api://r"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"AADSTS700213", "invalid_client", "400", strings.TrimPrefix(strings.TrimSuffix(entra.Authority, "/"), "https://"), "workload identity", "api://r/.default"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.ContainsAny(msg, "\r\n") || strings.Contains(msg, "Trace ID") || strings.Contains(msg, "a-token-from-another-cluster") {
		t.Errorf("want one line without trace IDs or the token: %q", msg)
	}
}

func TestAzureNoIdentity(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t) // refuses the link-local managed identity endpoint
	t.Setenv("AZURE_CLIENT_ID", fakecloud.EntraClientID)

	_, err := fromAzure(context.Background(), tokenRequest{http: hn.Client(), host: "r.example", aud: "api://r"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"no Azure identity found", "AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE not set", "azure.workload.identity/use"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.ContainsAny(msg, "\n\t") {
		t.Errorf("want one line: %q", msg)
	}
}

func TestAzureDeadAuthority(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	t.Setenv("AZURE_CLIENT_ID", fakecloud.EntraClientID)
	t.Setenv("AZURE_TENANT_ID", fakecloud.EntraTenantID)
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", writeTemp(t, "azure-identity-token", "projected"))
	dead := fakecloud.DeadEntraAuthority(t)
	t.Setenv("AZURE_AUTHORITY_HOST", dead)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := fromAzure(ctx, tokenRequest{http: hn.Client(), host: "r.example", aud: "api://r"})
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("returned after %s, want within the 1s deadline + 1s", elapsed)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(dead, "https://"), "/")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from "+host) {
		t.Errorf("err = %v, want a deadline error naming %s", err, host)
	}
}

// TestAzureChainErrorOnOneLine feeds lastAttempt the shape of message the
// credential chain builds when a credential fails without an HTTP reply.
func TestAzureChainErrorOnOneLine(t *testing.T) {
	msg := "DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n" +
		"\tEnvironmentCredential: incomplete environment variable configuration. Only AZURE_TENANT_ID and AZURE_CLIENT_ID are set\n" +
		"\tWorkloadIdentityCredential: unable to resolve an endpoint: server response error:\n" +
		"\t\t Get \"https://login.example/t/v2.0/.well-known/openid-configuration?\": dial tcp: connection refused." +
		" To troubleshoot, visit https://aka.ms/azsdk/go/identity/troubleshoot#workload"
	want := `WorkloadIdentityCredential: unable to resolve an endpoint: server response error: Get "https://login.example/t/v2.0/.well-known/openid-configuration?": dial tcp: connection refused.`
	if got := lastAttempt(msg); got != want {
		t.Errorf("lastAttempt =\n%q\nwant\n%q", got, want)
	}
}
