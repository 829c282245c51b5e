package config

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
)

// credentialDoc is a config with one host whose credential is the given
// flow mapping body.
func credentialDoc(credential string) string {
	return hostsDoc("{host: registry.example.com, credential: {" + credential + "}}")
}

const jwkSource = "jwkPath: key.json, iss: https://issuer.example.com, sub: flux-mirror"

func TestValidateCredential(t *testing.T) {
	runValidation(t, []validationCase{
		{"value", credentialDoc("value: token"), ""},
		{"fromPath", credentialDoc("fromPath: token"), ""},
		{"fromPath outside the root is left to the reader", credentialDoc("fromPath: ../../etc/token"), ""},
		{"absolute fromPath is left to the reader", credentialDoc("fromPath: /var/run/token"), ""},
		{"fromPath with NUL", credentialDoc(`fromPath: "tok\0en"`), "hosts[0].credential.fromPath: must not contain a NUL byte"},
		{"jwkPath", credentialDoc(jwkSource), ""},
		{"jwkPath with NUL", credentialDoc(`jwkPath: "k\0", iss: i, sub: s`), "hosts[0].credential.jwkPath: must not contain a NUL byte"},
		{"jwkValue", credentialDoc(`jwkValue: '{"kty":"OKP"}', iss: i, sub: s`), ""},
		{"provider", credentialDoc("provider: github, aud: sts.amazonaws.com"), ""},
		{"no source", credentialDoc("aud: x"),
			"hosts[0].credential: exactly one of value, fromPath, jwkPath, jwkValue, provider must be set"},
		{"two sources", credentialDoc("value: x, fromPath: y"),
			"hosts[0].credential: exactly one of value, fromPath, jwkPath, jwkValue, provider must be set, got value and fromPath"},
		{"empty value", credentialDoc("value: ''"), "hosts[0].credential.value: must not be empty"},
		{"empty jwkValue", credentialDoc("jwkValue: '', iss: i, sub: s"), "hosts[0].credential.jwkValue: must not be empty"},
		{"jwkValue not JSON", credentialDoc("jwkValue: 'kty: OKP', iss: i, sub: s"), "hosts[0].credential.jwkValue: not JSON"},
		{"unknown provider", credentialDoc("provider: gitlab"),
			`hosts[0].credential.provider: unknown provider "gitlab", expected one of github, forgejo, gcp, azure, aws, jwt-svid`},
	})
	for _, provider := range []string{"github", "forgejo", "gcp", "azure", "aws", "jwt-svid"} {
		t.Run("provider "+provider, func(t *testing.T) {
			wantError(t, validateDoc(t, credentialDoc("provider: "+provider)), "")
		})
	}
}

func TestValidateClaims(t *testing.T) {
	runValidation(t, []validationCase{
		{"iss required with jwkPath", credentialDoc("jwkPath: k, sub: s"), "hosts[0].credential.iss: required with jwkPath"},
		{"sub required with jwkValue", credentialDoc("jwkValue: '{}', iss: i"), "hosts[0].credential.sub: required with jwkValue"},
		{"iss refused with value", credentialDoc("value: t, iss: i"), "hosts[0].credential.iss: only allowed with jwkPath or jwkValue, not with value"},
		{"sub refused with provider", credentialDoc("provider: gcp, sub: s"), "hosts[0].credential.sub: only allowed with jwkPath or jwkValue, not with provider"},
		{"aud with jwkPath", credentialDoc(jwkSource + ", aud: a"), ""},
		{"aud with jwkValue", credentialDoc("jwkValue: '{}', iss: i, sub: s, aud: a"), ""},
		{"aud refused with value", credentialDoc("value: t, aud: a"), "hosts[0].credential.aud: only allowed with jwkPath, jwkValue or provider, not with value"},
		{"aud refused with fromPath", credentialDoc("fromPath: t, aud: a"), "hosts[0].credential.aud: only allowed with jwkPath, jwkValue or provider, not with fromPath"},
		{"exp with jwkPath", credentialDoc(jwkSource + ", exp: 90s"), ""},
		{"exp refused with provider", credentialDoc("provider: aws, exp: 5m"), "hosts[0].credential.exp: only allowed with jwkPath or jwkValue, not with provider"},
		{"exp not a duration", credentialDoc(jwkSource + ", exp: 5"), "hosts[0].credential.exp: not a duration"},
		{"exp zero", credentialDoc(jwkSource + ", exp: 0s"), "hosts[0].credential.exp: must be greater than zero"},
		{"exp negative", credentialDoc(jwkSource + ", exp: -1m"), "hosts[0].credential.exp: must be greater than zero"},
		{"exp too short", credentialDoc(jwkSource + ", exp: 1ns"), "hosts[0].credential.exp: is shorter than 10s"},
		{"exp just long enough", credentialDoc(jwkSource + ", exp: 10s"), ""},
		{"exp of years is valid (the commands warn)", credentialDoc(jwkSource + ", exp: 2562047h"), ""},
	})
}

// TestValidateNeverPrintsSecrets makes each inline secret wrong in some way
// and checks that no message quotes it.
func TestValidateNeverPrintsSecrets(t *testing.T) {
	const secret = "s3cr3t-Marker"
	tests := []struct {
		name string
		cred v1beta1.Credential
	}{
		{"value with another source", v1beta1.Credential{Value: ptr(secret), FromPath: "f", Iss: "i"}},
		{"jwkValue not JSON", v1beta1.Credential{JWKValue: ptr(secret + ": {"), Iss: "i", Sub: "s"}},
		{"jwkValue with a bad exp", v1beta1.Credential{JWKValue: ptr(`{"d":"` + secret + `"}`), Iss: "i", Sub: "s", Exp: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &v1beta1.Config{APIVersion: v1beta1.GroupVersion, Kind: v1beta1.Kind,
				Hosts: []v1beta1.Host{{Host: "a.io", Credential: &tt.cred}}}
			err := Validate(cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error reveals the secret: %v", err)
			}
		})
	}
	key := v1beta1.PEMSource{Value: secret}
	cfg := &v1beta1.Config{APIVersion: v1beta1.GroupVersion, Kind: v1beta1.Kind, Hosts: []v1beta1.Host{{
		Host: "a.io",
		TLS:  &v1beta1.TLS{ClientAuth: &v1beta1.ClientAuth{Certificate: &key, Key: &key}},
	}}}
	if err := Validate(cfg); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("want an error without the key, got %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
