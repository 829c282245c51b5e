package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/jwk"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

const (
	clientIssuer   = "https://ci.flux-mirror.test"
	clientAudience = "flux-mirror-test-token-service"
)

// checkPasswordJWT is the login check of a token service that takes, as
// the password, a JWT signed by the client's key (keys): it verifies the
// signature and exp strictly, with no leeway, so that a password used after
// its exp is refused.
func checkPasswordJWT(keys jose.JSONWebKeySet) func(user, password string) error {
	return func(_, password string) error {
		tok, err := jwt.ParseSigned(password, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return err
		}
		var claims jwt.Claims
		if err := tok.Claims(keys.Keys[0].Public(), &claims); err != nil {
			return err
		}
		return claims.ValidateWithLeeway(jwt.Expected{
			Issuer: clientIssuer, AnyAudience: jwt.Audience{clientAudience}, Time: time.Now(),
		}, 0)
	}
}

// TestExpiringPasswordMintedAgain: the password of a username host is a
// JWT signed from jwkPath with exp 5s, and a copy slowed past that expiry
// is followed by another operation, whose token exchange needs a password
// minted again. The run succeeds and the token service saw a second
// password for the destination and refused none.
//
// Why this set-up: distribution's token auth accepts a registry token up to
// a minute past its exp and needs an access claim jwkPath cannot write, so
// the JWT is the password of the challenge exchange with a token service
// (the realm) that checks its exp without leeway, as a cloud registry's
// token endpoint checks an identity token. The service runs in the test; the
// registry and the proxy that slows the copy are the real ones.
func TestExpiringPasswordMintedAgain(t *testing.T) {
	root := t.TempDir()
	client := newKeyPair(t, filepath.Join(root, "keys"))
	reg := testenv.StartLoginRegistry(t, checkPasswordJWT(client.public))
	// 8 MiB at 1 MiB/s: the copy outlasts the 5 s password with room to spare.
	slow := testenv.StartNginxProxy(t, "http://"+reg.Host, testenv.NginxOptions{LimitRate: "1m"})

	// The same registry under two names: read through the slow proxy,
	// written directly (a copy within one host would mount the blob, not
	// stream it). Each name has its own password, minted from the same key.
	password := &config.Source{
		Username: "ci", JWKPath: filepath.Join("keys", jwk.PrivateKeyFile), Issuer: clientIssuer, Subject: "ci", Audiences: []string{clientAudience}, Expiration: 5 * time.Second,
	}
	r, log := newRegistries(t, root,
		config.Host{Host: slow.Host, Credential: password},
		config.Host{Host: reg.Host, Credential: password})
	opts := r.RemoteOptions()
	src, dst := slow.Host+"/demo/src:v1", reg.Host+"/demo/dst:v1"
	img := randomImage(t, 1, 8<<20)
	if err := push(src, img, opts); err != nil {
		t.Fatalf("push: %v", err)
	}

	start := time.Now()
	srcImg, err := remote.Image(mustRef(t, src), opts...)
	if err != nil {
		t.Fatalf("read the source: %v", err)
	}
	// The layer streams from the source through the slow proxy while the
	// destination's password, minted as the copy starts, expires.
	if err := remote.Write(mustRef(t, dst), srcImg, opts...); err != nil {
		t.Fatalf("copy: %v", err)
	}
	copied := time.Since(start)
	// A new token exchange with the destination: it needs a new password.
	if err := remote.Tag(mustRef(t, dst).Context().Tag("latest"), srcImg, opts...); err != nil {
		t.Fatalf("tag after the password expired: %v", err)
	}
	got, err := pull(reg.Host+"/demo/dst:latest", opts)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if want, _ := img.Digest(); got != want {
		t.Fatalf("copied %s, pushed %s", got, want)
	}

	logins, refusals := reg.Logins()
	passwords := map[string]bool{}
	for _, l := range logins {
		passwords[l.Password] = true
	}
	accepted, refused := len(passwords), len(refusals)
	t.Logf("copy took %s; the token service accepted %d passwords, refused %d; %d mints logged",
		copied.Round(time.Millisecond), accepted, refused, log.count("minted"))
	if copied < 5*time.Second {
		t.Errorf("the copy took %s, not past the password's 5s lifetime: the proxy did not slow it", copied)
	}
	// One password for the source, two for the destination.
	if accepted < 3 || refused != 0 {
		t.Errorf("the token service accepted %d passwords and refused %d (%v), want at least 3 and none",
			accepted, refused, refusals)
	}
	if n := log.count(`credential{host=` + reg.Host); n < 2 {
		t.Errorf("%d mints for %s logged, want at least 2", n, reg.Host)
	}
}

// TestRotatedBearerTokenRead: a bearer token from fromPath is read again
// when it nears its expiry, so a token rotated on disk (as a projected
// token is) takes effect during a run. The first token grants demo/a only,
// the rotated one demo/b: the push to demo/b succeeds only with the new one
// (distribution would still accept the old one for a minute past its exp).
func TestRotatedBearerTokenRead(t *testing.T) {
	root := t.TempDir()
	keys := newKeyPair(t, t.TempDir())
	reg := tokenRegistry(t, keys, testenv.RegistryOptions{})
	tokenFile := filepath.Join(root, "token")
	writeToken := func(tok string) {
		if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// 8 s: renewed from half its life (4 s), long after the first round
	// trip however loaded the machine.
	first := keys.signRegistryToken(t, 8*time.Second, repoAccess("demo/a")...)
	writeToken(first)
	r, log := newRegistries(t, root, config.Host{Host: reg.Host, Credential: &config.Source{FromPath: "token"}})
	opts := r.RemoteOptions()
	roundTrip(t, reg.Host+"/demo/a:v1", opts)

	second := keys.signRegistryToken(t, 10*time.Minute, repoAccess("demo/b")...)
	writeToken(second)
	// Past the first token's renewal time (half of its 8 s).
	time.Sleep(5 * time.Second)
	roundTrip(t, reg.Host+"/demo/b:v1", opts)
	if n := log.count("minted"); n != 2 {
		t.Errorf("%d mints, want 2", n)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRefusedBearerTokenReadAgain: a token rotated on disk long before the
// old one expires takes effect when the registry refuses the old one: the
// refused request is repeated once with the token read again.
func TestRefusedBearerTokenReadAgain(t *testing.T) {
	root := t.TempDir()
	keys := newKeyPair(t, t.TempDir())
	reg := tokenRegistry(t, keys, testenv.RegistryOptions{})
	tokenFile := filepath.Join(root, "token")
	writeToken := func(tok string) {
		if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeToken(keys.signRegistryToken(t, 10*time.Minute, repoAccess("demo/a")...))
	r, log := newRegistries(t, root, config.Host{Host: reg.Host, Credential: &config.Source{FromPath: "token"}})
	roundTrip(t, reg.Host+"/demo/a:v1", r.RemoteOptions())

	writeToken(keys.signRegistryToken(t, 10*time.Minute, repoAccess("demo/b")...))
	roundTrip(t, reg.Host+"/demo/b:v1", r.RemoteOptions())
	if n := log.count("minted"); n != 2 {
		t.Errorf("%d mints, want 2", n)
	}

	// A token that stays refused is reported, not retried without end.
	err := push(reg.Host+"/demo/c:v1", randomImage(t, 1, 1024), r.RemoteOptions())
	if err == nil || !strings.Contains(err.Error(), "refused the bearer token") {
		t.Fatalf("err = %v", err)
	}
}
