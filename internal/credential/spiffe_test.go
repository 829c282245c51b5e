package credential

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

func svidHost(host, username, aud string) config.Host {
	return config.Host{Host: host, Credential: &config.Source{Username: username, Provider: config.SourceSPIFFE, Audiences: []string{aud}}}
}

// TestJWTSVID fetches JWT-SVIDs from a real SPIRE agent and checks them
// against the JWT bundle the SPIRE server publishes.
func TestJWTSVID(t *testing.T) {
	spire, err := testenv.StartSPIRE()
	if err != nil {
		t.Fatal(err)
	}
	defer spire.Stop()
	t.Logf("SPIRE: first JWT-SVID %v after the agent started", spire.FirstSVID)
	bundle, err := spire.JWTBundle(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, username, aud, wantAud string
	}{
		{"bearer, audience is the host", "", "", "registry.example.com"},
		{"pair with username spiffe", "spiffe", "", "registry.example.com"},
		{"explicit audience", "", "https://registry.example.com/auth", "https://registry.example.com/auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SPIFFE_ENDPOINT_SOCKET", spire.SocketAddr)
			cred, err := Resolve(context.Background(), ".", svidHost("registry.example.com", tc.username, tc.aud), Options{})
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
			svid, err := jwtsvid.ParseAndValidate(value, bundle, []string{tc.wantAud})
			if err != nil {
				t.Fatalf("the JWT-SVID does not validate against SPIRE's bundle for %q: %v", tc.wantAud, err)
			}
			if svid.ID.String() != testenv.SPIREWorkloadID {
				t.Errorf("sub = %s, want %s", svid.ID, testenv.SPIREWorkloadID)
			}
			if iss := svid.Claims["iss"]; iss != testenv.SPIREIssuer {
				t.Errorf("iss = %v, want %s", iss, testenv.SPIREIssuer)
			}
			if !cred.ExpiresAt.Equal(svid.Expiry) || !svid.Expiry.After(time.Now()) {
				t.Errorf("ExpiresAt = %v, want the SVID's future exp %v", cred.ExpiresAt, svid.Expiry)
			}
			if _, err := jwtsvid.ParseAndValidate(value, bundle, []string{"someone-else"}); err == nil {
				t.Error("the JWT-SVID also validates for another audience")
			}
		})
	}

	// Several audiences: one JWT-SVID for all of them.
	t.Run("audiences", func(t *testing.T) {
		t.Setenv("SPIFFE_ENDPOINT_SOCKET", spire.SocketAddr)
		h := config.Host{Host: "registry.example.com", Credential: &config.Source{Provider: config.SourceSPIFFE, Audiences: []string{"a.example", "b.example"}}}
		cred, err := Resolve(context.Background(), ".", h, Options{})
		if err != nil {
			t.Fatal(err)
		}
		svid, err := jwtsvid.ParseAndValidate(cred.Token, bundle, []string{"a.example"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(svid.Audience, []string{"a.example", "b.example"}) {
			t.Errorf("aud = %q, want both audiences", svid.Audience)
		}
	})
}

func TestJWTSVIDMissingSocket(t *testing.T) {
	fakecloud.Unsetenv(t, "SPIFFE_ENDPOINT_SOCKET")
	_, err := Resolve(context.Background(), ".", svidHost("r.example", "", ""), Options{})
	for _, want := range []string{`host "r.example": credential.provider jwt-svid: `,
		"SPIFFE_ENDPOINT_SOCKET is not set", "SPIFFE CSI driver"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
}

func TestJWTSVIDBadAddress(t *testing.T) {
	t.Setenv("SPIFFE_ENDPOINT_SOCKET", "/no/scheme.sock")
	_, err := Resolve(context.Background(), ".", svidHost("r.example", "", ""), Options{})
	if err == nil || !strings.Contains(err.Error(), `SPIFFE_ENDPOINT_SOCKET="/no/scheme.sock"`) {
		t.Fatalf("err = %v, want it to name the bad address", err)
	}
}

// TestJWTSVIDUnreachable checks that a missing socket fails fast and that
// a socket that accepts and never answers is cut off by the deadline.
func TestJWTSVIDUnreachable(t *testing.T) {
	dir := t.TempDir()
	silent := filepath.Join(dir, "silent.sock")
	fakecloud.DeadUnix(t, silent)
	for _, tc := range []struct{ name, addr, want string }{
		{"no socket", "unix://" + filepath.Join(dir, "missing.sock"), "is the SPIFFE agent running"},
		{"silent socket", "unix://" + silent, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SPIFFE_ENDPOINT_SOCKET", tc.addr)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			_, err := Resolve(ctx, ".", svidHost("r.example", "", ""), Options{})
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Resolve took %v with a 1s deadline", took)
			}
			if err == nil || !strings.HasPrefix(err.Error(), `host "r.example": `) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name the host and contain %q", err, tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}
