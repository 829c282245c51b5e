package credential

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

// TestACRWorkloadIdentity trades a workload identity token for a refresh
// token in each cloud: the fake registry accepts only a token the fake
// tenant issued for the Resource Manager scope of the registry's cloud.
func TestACRWorkloadIdentity(t *testing.T) {
	for _, host := range []string{"myregistry.azurecr.io", "myregistry.azurecr.cn", "myregistry.azurecr.us"} {
		t.Run(host, func(t *testing.T) {
			fakecloud.IsolateGoogleAzure(t)
			hn := fakecloud.NewHostNet(t)
			entra := fakecloud.NewEntra(t, hn)
			entra.FederatedToken = "projected-sa-token"
			azureWorkloadIdentity(t, entra, entra.FederatedToken)
			acr := fakecloud.NewACR(t, hn, host, entra)

			c, err := fromACR(context.Background(), registryRequest{host: host, http: hn.Client()})
			if err != nil {
				t.Fatal(err)
			}
			if c.Username != "00000000-0000-0000-0000-000000000000" {
				t.Errorf("username %q", c.Username)
			}
			at, ok := acr.Traded(c.Password)
			if !ok {
				t.Fatal("the password is not a refresh token the registry issued")
			}
			if scope, _ := entra.Scope(at); scope != acr.WantScope() {
				t.Errorf("traded a token for %q, want %q", scope, acr.WantScope())
			}
			if want := JWTExpiry(c.Password); want.IsZero() || !c.ExpiresAt.Equal(want) {
				t.Errorf("expiry %v, want the refresh token's exp %v", c.ExpiresAt, want)
			}
			near(t, "expiry", c.ExpiresAt, time.Now().Add(3*time.Hour))
		})
	}
}

func TestACRExchangeRefused(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	entra := fakecloud.NewEntra(t, hn)
	azureWorkloadIdentity(t, entra, "projected")
	// The registry trusts another tenant's tokens only.
	fakecloud.NewACR(t, hn, "myregistry.azurecr.io", fakecloud.NewEntra(t, hn))

	_, err := fromACR(context.Background(), registryRequest{host: "myregistry.azurecr.io", http: hn.Client()})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"https://myregistry.azurecr.io/oauth2/exchange", "401", "UNAUTHORIZED"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	for _, tok := range entra.AccessTokens() {
		if strings.Contains(msg, tok) {
			t.Errorf("the error shows the access token: %s", msg)
		}
	}
}

func TestACRHosts(t *testing.T) {
	for host, want := range map[string]string{
		"old.azurecr.de":    "closed in 2021",
		"ghcr.io":           "not an Azure Container Registry host",
		"x.azurecr.io.evil": "not an Azure Container Registry host",
	} {
		_, err := fromACR(context.Background(), registryRequest{host: host, http: nil})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), host) {
			t.Errorf("%s: err = %v, want %q", host, err, want)
		}
	}
}
