package credential

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
)

func actionsHost(provider, username, aud string) config.Host {
	return config.Host{Host: "ghcr.io", Credential: &config.Source{Username: username, Provider: provider, Audiences: []string{aud}}}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		name, provider, username, aud, wantAud string
	}{
		{"github bearer", config.SourceGitHub, "", "", "ghcr.io"},
		{"github basic", config.SourceGitHub, "ci", "sts.example.com", "sts.example.com"},
		{"forgejo bearer", config.SourceForgejo, "", "", "ghcr.io"},
		// The audience is encoded as one query value, however it looks.
		{"forgejo odd audience", config.SourceForgejo, "", "https://r.example/v2?a=1&b=2 c", "https://r.example/v2?a=1&b=2 c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakecloud.NewActions(t)
			fake.Setenv(t)
			cred, err := Resolve(context.Background(), t.TempDir(), actionsHost(tc.provider, tc.username, tc.aud), Options{})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			value := cred.Token
			if tc.username != "" {
				value = cred.Password
				if cred.Username != tc.username || cred.Token != "" {
					t.Errorf("credential = %v, want a pair for %q", cred, tc.username)
				}
			}
			claims, err := fake.Verify(value, tc.wantAud)
			if err != nil {
				t.Fatalf("the token does not verify for audience %q: %v", tc.wantAud, err)
			}
			if got := fake.Audiences(); len(got) != 1 || got[0] != tc.wantAud {
				t.Errorf("the endpoint saw audiences %q, want [%q]", got, tc.wantAud)
			}
			if !cred.ExpiresAt.Equal(claims.Expiry.Time()) {
				t.Errorf("ExpiresAt = %v, want the token's exp %v", cred.ExpiresAt, claims.Expiry.Time())
			}
		})
	}
}

func TestActionsMissingVariables(t *testing.T) {
	const url, tok = "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	for _, tc := range []struct {
		provider string
		unset    []string
		want     []string
	}{
		{config.SourceGitHub, []string{url, tok},
			[]string{url + " and " + tok + " are not set", "`permissions: id-token: write`"}},
		{config.SourceGitHub, []string{tok}, []string{tok + " is not set", "id-token: write"}},
		{config.SourceForgejo, []string{url},
			[]string{url + " is not set", "enable-openid-connect: true", "id-token: write"}},
	} {
		t.Run(tc.provider+" "+strings.Join(tc.unset, "+"), func(t *testing.T) {
			fake := fakecloud.NewActions(t)
			fake.Setenv(t)
			for _, k := range tc.unset {
				fakecloud.Unsetenv(t, k)
			}
			_, err := Resolve(context.Background(), ".", actionsHost(tc.provider, "", ""), Options{})
			if err == nil {
				t.Fatal("Resolve succeeded without the runner's variables")
			}
			prefix := `host "ghcr.io": credential.provider ` + tc.provider + ": "
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("err = %q, want prefix %q", err, prefix)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), fake.RequestToken) {
				t.Errorf("err leaks the request token: %v", err)
			}
			if n := len(fake.Audiences()); n != 0 {
				t.Errorf("%d tokens issued", n)
			}
		})
	}
}

func TestActionsEndpointErrors(t *testing.T) {
	fake := fakecloud.NewActions(t)
	host := actionsHost(config.SourceGitHub, "", "")

	t.Run("refused", func(t *testing.T) {
		fake.Setenv(t)
		fake.FailWith(http.StatusForbidden)
		defer fake.FailWith(0)
		_, err := Resolve(context.Background(), ".", host, Options{})
		if err == nil || !strings.Contains(err.Error(), "answered 403 Forbidden") || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Fatalf("err = %v, want the status and the endpoint's host", err)
		}
		assertNoSecret(t, err.Error(), fake.RequestToken)
	})
	t.Run("wrong request token", func(t *testing.T) {
		fake.Setenv(t)
		const wrong = "wrong-request-token-5a1c"
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", wrong)
		_, err := Resolve(context.Background(), ".", host, Options{})
		if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
			t.Fatalf("err = %v, want 401", err)
		}
		assertNoSecret(t, err.Error(), fake.RequestToken, wrong)
	})
	t.Run("not a URL", func(t *testing.T) {
		fake.Setenv(t)
		t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "ftp://x/y")
		_, err := Resolve(context.Background(), ".", host, Options{})
		if err == nil || !strings.Contains(err.Error(), "ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("injected client", func(t *testing.T) {
		fake.Setenv(t)
		var used bool
		c := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			used = true
			return http.DefaultTransport.RoundTrip(r)
		})}
		if _, err := Resolve(context.Background(), ".", host, Options{HTTPClient: c}); err != nil || !used {
			t.Fatalf("Resolve: %v; injected client used: %v", err, used)
		}
	})
}

// TestActionsSilentEndpoint holds the deadline against an endpoint that
// accepts the connection and never answers.
func TestActionsSilentEndpoint(t *testing.T) {
	addr := fakecloud.Dead(t)
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "http://"+addr+"/idtoken?api-version=2.0")
	t.Setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "silent-request-token")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := Resolve(ctx, ".", actionsHost(config.SourceGitHub, "", ""), Options{})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Resolve took %v with a 1s deadline", took)
	}
	if err == nil || !strings.HasPrefix(err.Error(), `host "ghcr.io": `) {
		t.Fatalf("err = %v, want a deadline error naming the host", err)
	}
}

func TestParseJWTExpiry(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	secret := "c2VjcmV0LXNpZ25hdHVyZQ"
	for _, tc := range []struct {
		name, token string
		want        time.Time
		wantErr     string
	}{
		{"exp", "e30." + enc([]byte(`{"exp":1900000000,"sub":"x"}`)) + "." + secret, time.Unix(1900000000, 0), ""},
		{"no exp", "e30." + enc([]byte(`{"sub":"x"}`)) + "." + secret, time.Time{}, ""},
		{"padded", "e30." + enc([]byte(`{"exp":1900000000}`)) + "==." + secret, time.Unix(1900000000, 0), ""},
		{"opaque", "opaque-" + secret, time.Time{}, "not a JWT"},
		{"bad payload", "e30.%%%." + secret, time.Time{}, "not a JWT"},
		{"not json", "e30." + enc([]byte("nope")) + "." + secret, time.Time{}, "not a JWT"},
		{"exp string", "e30." + enc([]byte(`{"exp":"soon"}`)) + "." + secret, time.Time{}, "not a JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseJWTExpiry(tc.token)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				assertNoSecret(t, err.Error(), secret)
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("parseJWTExpiry = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestActionsAudiences: several audiences go as one audience parameter
// each, and the ID token carries them all.
func TestActionsAudiences(t *testing.T) {
	fake := fakecloud.NewActions(t)
	fake.Setenv(t)
	h := config.Host{Host: "ghcr.io", Credential: &config.Source{Provider: config.SourceGitHub, Audiences: []string{"a.example", "b.example"}}}
	cred, err := Resolve(context.Background(), t.TempDir(), h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.Audiences(); len(got) != 2 || got[0] != "a.example" || got[1] != "b.example" {
		t.Errorf("the endpoint saw audiences %q, want both", got)
	}
	for _, aud := range []string{"a.example", "b.example"} {
		if _, err := fake.Verify(cred.Token, aud); err != nil {
			t.Errorf("the token does not verify for %s: %v", aud, err)
		}
	}
}
