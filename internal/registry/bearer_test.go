package registry

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestBearerStamped: a credential without username is sent as a bearer
// token on every request, the first one included: distribution v3's token
// auth accepts it and never answers 401, so there is no challenge dance. A
// token the registry does not trust fails naming the host, not the token.
func TestBearerStamped(t *testing.T) {
	keys := newKeyPair(t, t.TempDir())
	reg := tokenRegistry(t, keys, testenv.RegistryOptions{})
	tok := keys.signRegistryToken(t, 10*time.Minute, repoAccess("demo/app")...)
	r, _ := newRegistries(t, t.TempDir(), config.Host{Host: reg.Host, Credential: &config.Source{Value: &tok}})
	roundTrip(t, reg.Host+"/demo/app:v1", r.RemoteOptions())
	if n := challenges(t, reg); n != 0 {
		t.Errorf("the registry answered %d requests with 401: the token was not stamped on them", n)
	}
	if !strings.Contains(strings.Join(reg.LogLines(t), "\n"), `HTTP/1.1" 201 `) {
		t.Fatal("no upload in the registry's access log")
	}

	other := newKeyPair(t, t.TempDir())
	untrusted := other.signRegistryToken(t, 10*time.Minute, repoAccess("demo/app")...)
	bad, _ := newRegistries(t, t.TempDir(), config.Host{Host: reg.Host, Credential: &config.Source{Value: &untrusted}})
	err := push(reg.Host+"/demo/app:v2", randomImage(t, 1, 1024), bad.RemoteOptions())
	if err == nil || !strings.Contains(err.Error(), reg.Host) {
		t.Fatalf("push with an untrusted token: err = %v, want an error naming %s", err, reg.Host)
	}
	assertNoSecret(t, err, untrusted, tok)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Errorf("the registry's 401 is not in the error chain: %#v", err)
	}
	t.Logf("untrusted token: %v", err)
}

// TestRedirectCarriesNoBearerToken: a stamped bearer token stays on its
// registry when blob downloads redirect to the same name on another port,
// or to another host.
func TestRedirectCarriesNoBearerToken(t *testing.T) {
	for _, storageName := range []string{"127.0.0.1", "localhost"} {
		t.Run(storageName, func(t *testing.T) {
			keys := newKeyPair(t, t.TempDir())
			reg, storage := redirectingRegistry(t, storageName, testenv.RegistryOptions{Token: tokenAuth(keys)})
			tok := keys.signRegistryToken(t, 10*time.Minute, repoAccess("demo/app")...)
			r, _ := newRegistries(t, t.TempDir(), config.Host{Host: reg.Host, Credential: &config.Source{Value: &tok}})
			roundTrip(t, reg.Host+"/demo/app:v1", r.RemoteOptions())
			checkRedirectedBlobs(t, storage, 2)
			checkLogShowsAuth(t, storage)
		})
	}
}
