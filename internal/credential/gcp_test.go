package credential

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

func TestGCPFromMetadataServer(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	gce := fakecloud.NewGCE(t)
	t.Setenv("GCE_METADATA_HOST", gce.Host)
	hn := fakecloud.NewHostNet(t)

	tok, err := fromGCP(context.Background(), tokenRequest{http: hn.Client(), host: "registry.example.com", aud: "https://registry.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if aud, ok := gce.IDAudience(tok.value); !ok || aud != "https://registry.example.com" {
		t.Errorf("token issued by the metadata server: %v, audience %q", ok, aud)
	}
	if want := JWTExpiry(tok.value); tok.expiresAt.IsZero() || !tok.expiresAt.Equal(want) {
		t.Errorf("expiresAt %v, want the token's exp %v", tok.expiresAt, want)
	}
	reqs := gce.Requests()
	if len(reqs) != 1 || !strings.Contains(reqs[0], "/identity?") || !strings.Contains(reqs[0], "format=full") {
		t.Errorf("metadata requests %q, want one full-format identity request", reqs)
	}
}

func TestGCPFromServiceAccountKey(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	apis := fakecloud.NewGoogleAPIs(t, hn)
	key := apis.ServiceAccountKeyJSON(t, "signer@fake-project.iam.gserviceaccount.com")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeTemp(t, "key.json", string(key)))

	tok, err := fromGCP(context.Background(), tokenRequest{http: hn.Client(), host: "r.example", aud: "r.example"})
	if err != nil {
		t.Fatal(err)
	}
	// The fake verified the JWT-bearer assertion with the key's public half.
	if aud, ok := apis.IDAudience(tok.value); !ok || aud != "r.example" {
		t.Errorf("ID token issued %v for %q", ok, aud)
	}
	near(t, "expiry", tok.expiresAt, time.Now().Add(time.Hour))
}

// TestGCPImpersonation covers the credential files whose ID tokens come
// from IAM Credentials' generateIdToken: federation that impersonates a
// service account, and gcloud's impersonated_service_account. The fake
// IAM answers only a caller that presents a token its STS or token
// endpoint issued.
func TestGCPImpersonation(t *testing.T) {
	const target = "registry-signer@fake-project.iam.gserviceaccount.com"
	cases := map[string]func(t *testing.T, apis *fakecloud.GoogleAPIs) []byte{
		"external_account": func(t *testing.T, apis *fakecloud.GoogleAPIs) []byte {
			return apis.ExternalAccountJSON(t, writeTemp(t, "oidc", "cluster-oidc-token"), target)
		},
		"impersonated_service_account": func(t *testing.T, apis *fakecloud.GoogleAPIs) []byte {
			b, err := json.Marshal(map[string]any{
				"type": "impersonated_service_account",
				"service_account_impersonation_url": "https://" + fakecloud.IAMCredentialsHost +
					"/v1/projects/-/serviceAccounts/" + target + ":generateAccessToken",
				"source_credentials": json.RawMessage(apis.ServiceAccountKeyJSON(t, "source@fake-project.iam.gserviceaccount.com")),
			})
			must(t, err)
			return b
		},
	}
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			fakecloud.IsolateGoogleAzure(t)
			hn := fakecloud.NewHostNet(t)
			apis := fakecloud.NewGoogleAPIs(t, hn)
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeTemp(t, "adc.json", string(file(t, apis))))

			tok, err := fromGCP(context.Background(), tokenRequest{http: hn.Client(), host: "r.example", aud: "r.example"})
			if err != nil {
				t.Fatal(err)
			}
			if aud, ok := apis.IDAudience(tok.value); !ok || aud != "r.example" {
				t.Errorf("ID token issued %v for %q", ok, aud)
			}
			claims := jwtClaims(t, tok.value)
			if claims["email"] != target {
				t.Errorf("ID token for %v, want the impersonated %s", claims["email"], target)
			}
			if name == "external_account" {
				if got := apis.SubjectTokens(); len(got) != 1 || got[0] != "cluster-oidc-token" {
					t.Errorf("STS saw %q, want the subject token file's content", got)
				}
			}
		})
	}
}

func TestGCPCredentialsThatCannotMintIDTokens(t *testing.T) {
	fakecloud.IsolateGoogleAzure(t)
	hn := fakecloud.NewHostNet(t)
	apis := fakecloud.NewGoogleAPIs(t, hn)
	cases := map[string]struct{ file, want string }{
		"federation without impersonation": {
			file: string(apis.ExternalAccountJSON(t, writeTemp(t, "oidc", "x"), "")),
			want: "--service-account",
		},
		"user credentials": {
			file: `{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r"}`,
			want: `credentials of type "authorized_user" cannot mint ID tokens`,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", writeTemp(t, "adc.json", c.file))
			_, err := fromGCP(context.Background(), tokenRequest{http: hn.Client(), host: "r.example", aud: "r.example"})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "adc.json") {
				t.Errorf("err = %v, want it to name the file and contain %q", err, c.want)
			}
			if len(apis.AccessTokens()) != 0 {
				t.Error("a token was requested although the credentials cannot mint an ID token")
			}
		})
	}
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var claims map[string]any
	must(t, json.Unmarshal(payload, &claims))
	return claims
}
