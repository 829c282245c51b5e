package credential

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/jwk"
)

// keyPair returns a fresh Ed25519 private JWK set and its public key.
func keyPair(t *testing.T) (priv string, pub jose.JSONWebKey) {
	t.Helper()
	privJSON, pubJSON, err := jwk.Generate(jwk.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(pubJSON, &set); err != nil {
		t.Fatal(err)
	}
	return string(privJSON), set.Keys[0]
}

// verified checks token's signature with pub and returns its claims and
// the aud claim as written.
func verified(t *testing.T, token string, pub jose.JSONWebKey) (jwt.Claims, any) {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	var claims jwt.Claims
	var raw map[string]any
	if err := parsed.Claims(pub, &claims, &raw); err != nil {
		t.Fatalf("verify token: %v", err)
	}
	return claims, raw["aud"]
}

func TestJWK(t *testing.T) {
	priv, pub := keyPair(t)
	root := t.TempDir()
	writeFile(t, root, "keys/privkey.json", priv)
	ptr := func(s string) *string { return &s }

	for _, tc := range []struct {
		name     string
		username string
		cred     config.Source
		aud      string
		lifetime time.Duration
	}{
		{name: "jwkPath defaults", cred: config.Source{JWKPath: "keys/privkey.json"},
			aud: "registry.example.com", lifetime: config.DefaultJWTLifetime},
		{name: "jwkPath confined", cred: config.Source{JWKPath: "../../keys/privkey.json", Expiration: 90 * time.Second},
			aud: "registry.example.com", lifetime: 90 * time.Second},
		{name: "jwkValue with aud and exp", cred: config.Source{JWKValue: ptr(priv), Audiences: []string{"https://aud.example"}, Expiration: 5 * time.Minute},
			aud: "https://aud.example", lifetime: 5 * time.Minute},
		{name: "username", username: "robot", cred: config.Source{JWKValue: ptr(priv), Expiration: 1 * time.Hour},
			aud: "registry.example.com", lifetime: time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cred.Issuer, tc.cred.Subject = "https://issuer.example", "mirror"
			tc.cred.Username = tc.username
			h := config.Host{Host: "registry.example.com", Credential: &tc.cred}
			cred, err := Resolve(context.Background(), root, h, Options{})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			token := cred.Token
			if tc.username != "" {
				if cred.Username != tc.username || cred.Token != "" {
					t.Fatalf("want a username/password pair, got %#v", cred)
				}
				token = cred.Password
			} else if cred.Username != "" || cred.Password != "" {
				t.Fatalf("want a bearer token only, got %#v", cred)
			}
			claims, aud := verified(t, token, pub)
			if aud != tc.aud {
				t.Errorf("aud = %#v, want %q", aud, tc.aud)
			}
			if claims.Issuer != "https://issuer.example" || claims.Subject != "mirror" {
				t.Errorf("iss %q sub %q", claims.Issuer, claims.Subject)
			}
			iat, exp := claims.IssuedAt.Time(), claims.Expiry.Time()
			if exp.Sub(iat) != tc.lifetime {
				t.Errorf("exp - iat = %v, want %v", exp.Sub(iat), tc.lifetime)
			}
			if !cred.ExpiresAt.Equal(exp) {
				t.Errorf("ExpiresAt %v, token exp %v", cred.ExpiresAt, exp)
			}
		})
	}
}

func TestJWKErrors(t *testing.T) {
	priv, _ := keyPair(t)
	_, pubJSON, err := jwk.Generate(jwk.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	writeFile(t, root, "pubkey.json", string(pubJSON))
	ptr := func(s string) *string { return &s }

	for _, tc := range []struct {
		name string
		cred config.Source
		want string
	}{
		{"missing file", config.Source{JWKPath: "nope.json"},
			`host "h.example": read credential.jwkPath "nope.json": no such file or directory: "nope.json" was looked up as `},
		{"public key", config.Source{JWKPath: "pubkey.json"},
			`host "h.example": credential.jwkPath "pubkey.json": JWK is a public key`},
		{"garbage value", config.Source{JWKValue: ptr("garbage")},
			`host "h.example": credential.jwkValue: JWK is not valid JSON`},
		{"negative lifetime", config.Source{JWKValue: ptr(priv), Expiration: -time.Minute},
			`host "h.example": credential.jwkValue: sign: lifetime -1m0s is not positive`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cred.Issuer, tc.cred.Subject = "i", "s"
			_, err := Resolve(context.Background(), root, config.Host{Host: "h.example", Credential: &tc.cred}, Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
}
