package jwk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// generated caches one key pair per type: RSA generation is slow.
var generated = map[KeyType][2][]byte{}

func pair(t *testing.T, kt KeyType) (priv, pub []byte) {
	t.Helper()
	if p, ok := generated[kt]; ok {
		return p[0], p[1]
	}
	priv, pub, err := Generate(kt)
	if err != nil {
		t.Fatalf("Generate(%q): %v", kt, err)
	}
	generated[kt] = [2][]byte{priv, pub}
	return priv, pub
}

func TestGenerateSignVerify(t *testing.T) {
	for _, tc := range []struct {
		kt  KeyType
		alg jose.SignatureAlgorithm
	}{
		{"", jose.EdDSA},
		{Ed25519, jose.EdDSA},
		{ECDSAP256, jose.ES256},
		{RSA, jose.RS256},
	} {
		t.Run(string(tc.kt), func(t *testing.T) {
			privJSON, pubJSON := pair(t, tc.kt)
			var pubSet jose.JSONWebKeySet
			if err := json.Unmarshal(pubJSON, &pubSet); err != nil {
				t.Fatalf("decode pubkey set: %v", err)
			}
			if len(pubSet.Keys) != 1 {
				t.Fatalf("pubkey set holds %d keys, want 1", len(pubSet.Keys))
			}
			pub := pubSet.Keys[0]
			if !pub.IsPublic() {
				t.Fatalf("pubkey.json holds a non-public key %T", pub.Key)
			}
			if strings.Contains(string(pubJSON), `"d"`) {
				t.Fatalf("pubkey.json carries private parameters:\n%s", pubJSON)
			}
			priv, err := ParsePrivate(privJSON)
			if err != nil {
				t.Fatalf("ParsePrivate(privkey.json): %v", err)
			}
			if priv.KeyID == "" || priv.KeyID != pub.KeyID {
				t.Fatalf("kid: private %q, public %q; want equal, non-empty", priv.KeyID, pub.KeyID)
			}
			for _, k := range []jose.JSONWebKey{*priv, pub} {
				if k.Use != "sig" || k.Algorithm != string(tc.alg) {
					t.Errorf("key use=%q alg=%q; want sig, %s", k.Use, k.Algorithm, tc.alg)
				}
			}
			verifyToken(t, priv, pub, tc.alg)
		})
	}
}

func verifyToken(t *testing.T, priv *jose.JSONWebKey, pub jose.JSONWebKey, alg jose.SignatureAlgorithm) {
	t.Helper()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := Claims{Issuer: "iss.example", Subject: "sub-1", Audience: []string{"ghcr.io"}, Lifetime: 5 * time.Minute, Now: now}
	token, expiresAt, err := Sign(priv, c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if want := now.Add(5 * time.Minute); !expiresAt.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", expiresAt, want)
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("ParseSigned: %v", err)
	}
	h := parsed.Headers[0]
	if h.Algorithm != string(alg) || h.KeyID != pub.KeyID || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header alg=%q kid=%q typ=%v; want %s, %q, JWT", h.Algorithm, h.KeyID, h.ExtraHeaders["typ"], alg, pub.KeyID)
	}
	var got jwt.Claims
	var raw map[string]any
	if err := parsed.Claims(pub, &got, &raw); err != nil {
		t.Fatalf("verify with pubkey.json: %v", err)
	}
	if got.Issuer != c.Issuer || got.Subject != c.Subject {
		t.Errorf("iss=%q sub=%q", got.Issuer, got.Subject)
	}
	if aud, ok := raw["aud"].(string); !ok || aud != c.Audience[0] {
		t.Errorf("aud = %#v, want the string %q", raw["aud"], c.Audience)
	}
	if !got.IssuedAt.Time().Equal(now) || !got.NotBefore.Time().Equal(now.Add(-30*time.Second)) ||
		!got.Expiry.Time().Equal(expiresAt) {
		t.Errorf("iat=%v nbf=%v exp=%v", got.IssuedAt.Time(), got.NotBefore.Time(), got.Expiry.Time())
	}
	if len(got.ID) < 20 {
		t.Errorf("jti = %q, want 16 random bytes", got.ID)
	}
	err = got.Validate(jwt.Expected{Issuer: c.Issuer, Subject: c.Subject, AnyAudience: jwt.Audience(c.Audience), Time: now})
	if err != nil {
		t.Errorf("claims do not validate: %v", err)
	}
	other, _, _ := Sign(priv, c)
	var otherClaims jwt.Claims
	if p, err := jwt.ParseSigned(other, []jose.SignatureAlgorithm{alg}); err != nil {
		t.Fatal(err)
	} else if err := p.Claims(pub, &otherClaims); err != nil || otherClaims.ID == got.ID {
		t.Errorf("second token: err=%v, jti %q repeats", err, otherClaims.ID)
	}
}

func TestSignAlgorithmPerCurve(t *testing.T) {
	for _, tc := range []struct {
		curve elliptic.Curve
		alg   jose.SignatureAlgorithm
	}{
		{elliptic.P256(), jose.ES256},
		{elliptic.P384(), jose.ES384},
		{elliptic.P521(), jose.ES512},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			k, err := ecdsa.GenerateKey(tc.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.Marshal(jose.JSONWebKey{Key: k})
			if err != nil {
				t.Fatal(err)
			}
			priv, err := ParsePrivate(data)
			if err != nil {
				t.Fatalf("ParsePrivate: %v", err)
			}
			token, _, err := Sign(priv, Claims{Issuer: "i", Subject: "s", Audience: []string{"a"}, Lifetime: time.Minute})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{tc.alg})
			if err != nil {
				t.Fatalf("ParseSigned: %v", err)
			}
			if _, ok := parsed.Headers[0].ExtraHeaders["kid"]; ok || parsed.Headers[0].KeyID != "" {
				t.Errorf("a key without kid put a kid in the header")
			}
			if err := parsed.Claims(&k.PublicKey, &jwt.Claims{}); err != nil {
				t.Errorf("verify: %v", err)
			}
		})
	}
}

func TestSignRefusesBadClaims(t *testing.T) {
	priv, _ := pair(t, Ed25519)
	key, err := ParsePrivate(priv)
	if err != nil {
		t.Fatal(err)
	}
	good := Claims{Issuer: "i", Subject: "s", Audience: []string{"a"}, Lifetime: time.Minute}
	for name, mutate := range map[string]func(*Claims){
		"issuer":        func(c *Claims) { c.Issuer = "" },
		"subject":       func(c *Claims) { c.Subject = "" },
		"audience":      func(c *Claims) { c.Audience = nil },
		"audience item": func(c *Claims) { c.Audience = []string{""} },
		"lifetime":      func(c *Claims) { c.Lifetime = 0 },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			if _, _, err := Sign(key, c); err == nil || !strings.Contains(err.Error(), strings.Fields(name)[0]) {
				t.Errorf("Sign: err = %v, want one naming %s", err, name)
			}
		})
	}
	if _, _, err := Sign(nil, good); err == nil {
		t.Error("Sign(nil key) succeeded")
	}
}
