package credential

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
)

const (
	secretToken    = "ghp_SECRETtokenValue0123456789"
	secretPassword = "hunter2-SECRET-password"
)

func TestCredentialPrintsNoSecret(t *testing.T) {
	bearer := Credential{Host: "ghcr.io", Token: secretToken,
		ExpiresAt: time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CET", 3600))}
	basic := Credential{Host: "localhost:5000", Username: "admin", Password: secretPassword}
	if got, want := bearer.String(), "credential{host=ghcr.io, kind=bearer, expires=2026-11-27T09:00:00Z}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := basic.String(), "credential{host=localhost:5000, kind=basic, expires=unknown}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		fmt.Fprintf(&out, verb+"\n", bearer)
		fmt.Fprintf(&out, verb+"\n", &basic)
		fmt.Fprintf(&out, verb+"\n", []Credential{bearer, basic})
		fmt.Fprintf(&out, verb+"\n", struct{ C Credential }{basic})
	}
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	logger.Info("resolved", "cred", bearer, "other", basic)
	slog.New(slog.NewTextHandler(&out, nil)).Info("resolved", "cred", basic)
	assertNoSecret(t, out.String(), secretToken, secretPassword)
	if !strings.Contains(out.String(), "credential{host=ghcr.io") {
		t.Errorf("output does not describe the credential:\n%s", out.String())
	}
}

// TestErrorsCarryNoSecret resolves hosts holding secrets next to hosts that
// fail on secret content, and checks that no error quotes any secret.
func TestErrorsCarryNoSecret(t *testing.T) {
	const (
		secretKeyText = "SECRET-not-a-jwk-0123456789"
		secretD       = "c2VjcmV0LWtleS1tYXRlcmlhbC1oZXJl"
		secretNumber  = "98765432109876543210"
	)
	root := t.TempDir()
	writeFile(t, root, "token", secretToken+"\n")
	writeFile(t, root, "key.json", secretKeyText)
	hosts := []config.Host{
		{Host: "value.example", Credential: &config.Source{Value: ptr(secretToken)}},
		{Host: "basic.example", Credential: &config.Source{Username: "u", Value: ptr(secretPassword)}},
		{Host: "file.example", Credential: &config.Source{FromPath: "token"}},
		{Host: "keyfile.example", Credential: &config.Source{JWKPath: "key.json", Issuer: "i", Subject: "s"}},
		{Host: "inline.example", Credential: &config.Source{Issuer: "i", Subject: "s",
			JWKValue: ptr(`{"kty":"OKP","crv":"Ed25519","x":"` + secretD + `","d":"` + secretD + `"}`)}},
		{Host: "number.example", Credential: &config.Source{Issuer: "i", Subject: "s",
			JWKValue: ptr(`{"kty":"EC","crv":"P-256","d":` + secretNumber + `}`)}},
		{Host: "text.example", Credential: &config.Source{Issuer: "i", Subject: "s", JWKValue: ptr(secretKeyText)}},
		{Host: "oct.example", Credential: &config.Source{Issuer: "i", Subject: "s",
			JWKValue: ptr(`{"kty":"oct","k":"` + secretD + `"}`)}},
	}
	creds, err := ResolveAll(context.Background(), root, hosts, Options{})
	if err == nil || creds != nil {
		t.Fatalf("ResolveAll = %v, %v; want an error", creds, err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 5 {
		t.Errorf("error has %d lines, want one per failing host (5):\n%v", n, err)
	}
	text := fmt.Sprintf("%v\n%+v\n%#v\n%s", err, err, err, err.Error())
	assertNoSecret(t, text, secretToken, secretPassword, secretKeyText, secretD, secretNumber)
	for _, h := range hosts {
		if _, err := Resolve(context.Background(), root, h, Options{}); err != nil {
			assertNoSecret(t, err.Error(), secretToken, secretPassword, secretKeyText, secretD, secretNumber)
		}
	}
}

func assertNoSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("output leaks secret %q:\n%s", s, text)
		}
	}
}
