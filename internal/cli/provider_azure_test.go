package cli

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

// azureConfig has an ACR host and a bearer host with an Entra token for an
// application's scope.
const azureConfig = header + `hosts:
- host: myregistry.azurecr.io
  provider: acr
- host: registry.example.com
  credential:
    provider: azure
    aud: api://flux-mirror-registry
`

// azureWorkloadIdentity sets what the AKS workload identity webhook injects
// into a pod: the client and tenant, the projected token file and the
// authority, here the fake tenant.
func azureWorkloadIdentity(t *testing.T, authority, projected string) {
	t.Helper()
	t.Setenv("AZURE_CLIENT_ID", fakecloud.EntraClientID)
	t.Setenv("AZURE_TENANT_ID", fakecloud.EntraTenantID)
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", writeFile(t, t.TempDir(), "azure-identity-token", projected))
	t.Setenv("AZURE_AUTHORITY_HOST", authority)
}

// TestSecretAzureWorkloadIdentity runs secret on an AKS-like pod: the
// projected token is traded at Entra, and for ACR once more at the
// registry's token exchange.
func TestSecretAzureWorkloadIdentity(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	entra := fakecloud.NewEntra(t, hn)
	entra.FederatedToken = "projected-token-for-entra"
	noteSecret(entra.FederatedToken, "projected token")
	acr := fakecloud.NewACR(t, hn, "myregistry.azurecr.io", entra)
	t.Cleanup(func() {
		noteIssued("Entra access token", entra.Issued())
		noteIssued("ACR refresh token", acr.Issued())
	})
	azureWorkloadIdentity(t, entra.Authority, entra.FederatedToken)
	ns := grantRole(t, "alice", false)
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", azureConfig)

	r := runWith(t, credential.Options{HTTPClient: hn.Client()}, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	auths := dockerConfig(t, ns, "regcreds")
	if len(auths) != 2 {
		t.Fatalf("auths %v", keys(auths))
	}
	refresh := auths["myregistry.azurecr.io"]["password"]
	wantPair(t, auths["myregistry.azurecr.io"], "00000000-0000-0000-0000-000000000000", refresh)
	if at, ok := acr.Traded(refresh); !ok {
		t.Error("the ACR password is not a refresh token the registry issued")
	} else if scope, _ := entra.Scope(at); scope != "https://management.azure.com/.default" {
		t.Errorf("the registry got a token for %q", scope)
	}
	bearer := auths["registry.example.com"]
	if scope, ok := entra.Scope(bearer["registrytoken"]); !ok || scope != "api://flux-mirror-registry/.default" || len(bearer) != 1 {
		t.Errorf("registry.example.com: entry keys %v, Entra token issued %v for %q", keys(bearer), ok, scope)
	}
	if got := entra.Assertions(); len(got) != 2 || got[0] != entra.FederatedToken || got[1] != entra.FederatedToken {
		t.Errorf("Entra saw %d assertions, want the projected token twice", len(got))
	}
	for _, want := range []string{
		`• myregistry.azurecr.io: username "00000000-0000-0000-0000-000000000000" and password, expires `,
		"• registry.example.com: bearer token, expires ",
		"✔ secret " + ns + "/regcreds created (2 hosts)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestSecretAzureAuthorityTimeout points the Entra authority at a listener
// that never answers.
func TestSecretAzureAuthorityTimeout(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	azureWorkloadIdentity(t, fakecloud.DeadEntraAuthority(t), "projected")
	ns := grantRole(t, "alice", false)
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", azureConfig)
	deadlineRun(t, hn, ns, cfg, "myregistry.azurecr.io", "registry.example.com")
}
