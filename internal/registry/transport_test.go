package registry

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// TestDropRedirectedAuth: the header a hop carried is dropped when a
// redirect leaves its host and port, and kept otherwise.
func TestDropRedirectedAuth(t *testing.T) {
	t.Parallel()
	hop := func(from, to, fromAuth, toAuth string) *http.Request {
		prev, _ := http.NewRequest(http.MethodGet, from, nil)
		if fromAuth != "" {
			prev.Header.Set("Authorization", fromAuth)
		}
		req, _ := http.NewRequest(http.MethodGet, to, nil)
		if toAuth != "" {
			req.Header.Set("Authorization", toAuth)
		}
		req.Response = &http.Response{Request: prev}
		return req
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		want string
	}{
		{"another port", hop("http://127.0.0.1:5000/v2/a/blobs/x", "http://127.0.0.1:6000/x", "Bearer t", "Bearer t"), ""},
		{"another host", hop("https://r.example/v2/a/blobs/x", "https://cdn.example/x", "Basic u", "Basic u"), ""},
		{"same host, default port written out", hop("https://r.example/v2/x", "https://r.example:443/y", "Bearer t", "Bearer t"), "Bearer t"},
		{"https to http on the same name", hop("https://r.example/v2/x", "http://r.example/y", "Bearer t", "Bearer t"), ""},
		{"the new host's own token", hop("https://r.example/v2/x", "https://cdn.example/x", "Bearer t", "Bearer cdn"), "Bearer cdn"},
		{"not a redirect", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "https://r.example/v2/", nil)
			r.Header.Set("Authorization", "Bearer t")
			return r
		}(), "Bearer t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.req.Header.Get("Authorization")
			got := dropRedirectedAuth(tc.req)
			if a := got.Header.Get("Authorization"); a != tc.want {
				t.Errorf("Authorization = %q, want %q", a, tc.want)
			}
			if tc.req.Header.Get("Authorization") != before {
				t.Error("the caller's request was modified")
			}
		})
	}
}

// TestKeychainDecides: a listed host with a username answers with its
// password, a listed bearer host with Anonymous (the transport stamps the
// token), and every other host, including a listed one without a
// credential, asks the Docker config.
func TestKeychainDecides(t *testing.T) {
	t.Parallel()
	r, err := New(context.Background(), Options{Root: t.TempDir(), Hosts: []config.Host{
		{Host: "user.example", Credential: &config.Source{Username: "u", Value: new("p")}},
		{Host: "bearer.example:5000", Credential: &config.Source{Value: new("t")}},
		{Host: "docker.io", Credential: &config.Source{Username: "hub", Value: new("hub-p")}},
		{Host: "chunks.example", MaxChunkSize: 64},
		{Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Provider: config.ProviderECR},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fromDockerConfig := authn.FromConfig(authn.AuthConfig{Username: "docker-config"})
	kc := keychain{r: r, fallback: staticKeychain{fromDockerConfig}}
	// A registry provider's login is a username and password for the
	// challenge; asking for it would call the cloud, so only its kind is
	// checked.
	ecr, err := kc.ResolveContext(context.Background(), name.MustParseReference("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1").Context())
	if _, ok := ecr.(*passwordAuth); err != nil || !ok {
		t.Errorf("ecr host: got %T, %v; want the password authenticator", ecr, err)
	}
	for _, tc := range []struct {
		registry string
		want     string // username, "anonymous" or "docker-config"
	}{
		{"user.example", "u"},
		{"bearer.example:5000", "anonymous"},
		{"bearer.example", "docker-config"}, // the port is part of the host
		{"index.docker.io", "hub"},          // how go-containerregistry names docker.io
		{"chunks.example", "docker-config"},
		{"elsewhere.example", "docker-config"},
	} {
		t.Run(tc.registry, func(t *testing.T) {
			reg, err := name.NewRegistry(tc.registry)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.ResolveContext(context.Background(), reg)
			if err != nil {
				t.Fatal(err)
			}
			if a == authn.Anonymous {
				if tc.want != "anonymous" {
					t.Fatalf("got Anonymous, want %s", tc.want)
				}
				return
			}
			cfg, err := authn.Authorization(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tc.want {
				t.Fatalf("username %q, want %q", cfg.Username, tc.want)
			}
		})
	}
}

// staticKeychain answers every lookup with one authenticator.
type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }
