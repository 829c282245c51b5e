package jwk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

func TestParsePrivate(t *testing.T) {
	privSet, pubSet := pair(t, Ed25519)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(privSet, &set); err != nil {
		t.Fatal(err)
	}
	bare := mustJSON(t, set.Keys[0])
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	const secret = "c2VjcmV0LXNob3VsZC1uZXZlci1sZWFr"

	for _, tc := range []struct {
		name    string
		data    string
		wantErr string // empty: success
	}{
		{name: "bare key", data: bare},
		{name: "set of one", data: string(privSet)},
		{name: "no kid", data: mustJSON(t, jose.JSONWebKey{Key: p256})},
		{name: "set of two", data: `{"keys":[` + bare + `,` + bare + `]}`, wantErr: "holds 2 keys; want exactly one"},
		{name: "empty set", data: `{"keys":[]}`, wantErr: "holds 0 keys; want exactly one"},
		{name: "keys not an array", data: `{"keys":{}}`, wantErr: `"keys" is not an array`},
		{name: "set of a string", data: `{"keys":["x"]}`, wantErr: "not a JSON object"},
		{name: "public set", data: string(pubSet), wantErr: "is a public key; use the private key (privkey.json"},
		{name: "empty", data: " \n", wantErr: "JWK is empty"},
		{name: "garbage", data: "not json " + secret, wantErr: "not valid JSON"},
		{name: "array", data: `[1,2]`, wantErr: "not a JSON object"},
		{name: "truncated", data: bare[:len(bare)/2], wantErr: "not valid JSON"},
		{name: "oct", data: `{"kty":"oct","k":"` + secret + `"}`, wantErr: `symmetric ("oct") key`},
		{name: "unknown kty", data: `{"kty":"XYZ","d":"` + secret + `"}`, wantErr: "not supported"},
		{name: "x25519", data: `{"kty":"OKP","crv":"X25519","x":"` + secret + `","d":"` + secret + `"}`, wantErr: "not supported"},
		{name: "no kty", data: `{"d":"` + secret + `"}`, wantErr: "missing json web key type"},
		{name: "bad ed25519 d", data: `{"kty":"OKP","crv":"Ed25519","x":"` + secret + `","d":"` + secret + `"}`, wantErr: "invalid JWK"},
		{name: "numeric d", data: `{"kty":"EC","crv":"P-256","d":12345678901234567}`, wantErr: "wrong JSON type"},
		{name: "small rsa", data: mustJSON(t, jose.JSONWebKey{Key: small}), wantErr: "1024-bit RSA key; want at least 2048"},
		{name: "alg mismatch", data: strings.Replace(bare, `"EdDSA"`, `"ES256"`, 1), wantErr: `alg "ES256", but its key signs with EdDSA`},
		{name: "use enc", data: strings.Replace(bare, `"sig"`, `"enc"`, 1), wantErr: `use "enc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := ParsePrivate([]byte(tc.data))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ParsePrivate: %v", err)
				}
				if key.IsPublic() {
					t.Fatalf("got a public key")
				}
				return
			}
			if err == nil {
				t.Fatalf("ParsePrivate succeeded, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			for _, leak := range []string{secret, "12345678901234567", "not json"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q quotes the input %q", err, leak)
				}
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
