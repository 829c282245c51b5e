package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// ecrHost is the name the loopback registry is reached under: a private
// ECR host, so that provider ecr mints its login in us-west-2.
const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

// ecrTokenService is the realm of a registry standing in for ECR: it
// accepts the login an ECR authorization token holds (username AWS and a
// password the AWS fake issued) and records every password it was sent.
type ecrTokenService struct {
	t        *testing.T
	aws      *fakecloud.AWS
	registry keyPair // signs the registry tokens

	mu      sync.Mutex
	seen    []string // passwords accepted, one per token request
	refused []string // why requests were refused
}

func (s *ecrTokenService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, password, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || user != "AWS" || !slices.Contains(s.aws.ECRPasswords(), password) {
		s.refused = append(s.refused, fmt.Sprintf("basic auth %t, username %q", ok, user))
		http.Error(w, "not a login issued by ECR", http.StatusUnauthorized)
		return
	}
	s.seen = append(s.seen, password)
	s.registry.grantScopes(s.t, w, r)
}

// ecrEnv is a token-auth registry reached under ecrHost, its realm, and
// the AWS fake that mints the realm's login.
type ecrEnv struct {
	aws   *fakecloud.AWS
	realm *ecrTokenService
	r     *Registries
	log   *logRecorder
}

// startECR starts the registry, its realm and the AWS fake, gives the
// SDK static keys and the fake as ECR's endpoint, and builds Registries
// with a provider ecr entry for ecrHost whose connections to ecrHost:80
// go to the registry.
func startECR(t *testing.T) *ecrEnv {
	t.Helper()
	ts := &ecrTokenService{t: t, registry: newKeyPair(t, t.TempDir())}
	srv := httptest.NewServer(ts)
	t.Cleanup(srv.Close)
	// localhost, not 127.0.0.1: go-containerregistry refuses a realm on a
	// private IP other than the registry's own host:port.
	reg := tokenRegistry(t, ts.registry, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/token", testenv.RegistryOptions{})

	fakecloud.IsolateAWS(t)
	ts.aws = fakecloud.NewAWS(t)
	id, secret := ts.aws.StaticKey()
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_ENDPOINT_URL_ECR", ts.aws.URL)

	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, _ := net.SplitHostPort(addr); host == ecrHost {
			// Plain HTTP only: the https half of the ping must fail
			// here, not reach the registry's HTTP port.
			if port != "80" {
				return nil, fmt.Errorf("test dialer: %s is served on port 80 only", ecrHost)
			}
			addr = reg.Host
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	r, log := newRegistriesWith(t, Options{
		Root: t.TempDir(), Hosts: []v1beta1.Host{{Host: ecrHost, Provider: "ecr"}}, DialContext: dial,
	})
	return &ecrEnv{aws: ts.aws, realm: ts, r: r, log: log}
}

// ecrCalls returns the ecr:GetAuthorizationToken calls the fake saw.
func (e *ecrEnv) ecrCalls() []fakecloud.AWSCall {
	var calls []fakecloud.AWSCall
	for _, c := range e.aws.Calls() {
		if c.Action == fakecloud.ECRTarget {
			calls = append(calls, c)
		}
	}
	return calls
}

// TestECRProviderLogin: a hosts entry with provider ecr logs in to its
// registry with the ECR login minted by the AWS SDK: go-containerregistry's
// token exchange sends username AWS and the password of the one
// GetAuthorizationToken call, for the push and again for the pull.
func TestECRProviderLogin(t *testing.T) {
	e := startECR(t)
	roundTrip(t, ecrHost+"/demo/app:v1", e.r.RemoteOptions(), name.Insecure)

	passwords, calls := e.aws.ECRPasswords(), e.ecrCalls()
	e.realm.mu.Lock()
	seen, refused := slices.Clone(e.realm.seen), slices.Clone(e.realm.refused)
	e.realm.mu.Unlock()
	t.Logf("%d ECR calls, %d mints logged, %d token requests with the ECR password", len(calls), e.log.count("minted"), len(seen))
	// One mint serves every request of the run: the login lasts 12 h.
	if len(passwords) != 1 || len(calls) != 1 || e.log.count("minted") != 1 {
		t.Fatalf("%d ECR passwords, %d ECR calls, %d mints, want 1 of each", len(passwords), len(calls), e.log.count("minted"))
	}
	if c := calls[0]; c.Err != "" || c.Sig.Region != "us-west-2" || c.Sig.Service != "ecr" {
		t.Errorf("ECR call = %+v, want GetAuthorizationToken signed for ecr in the host's region", c)
	}
	// The push and the pull each exchange it for a registry token.
	if len(seen) < 2 || len(refused) != 0 {
		t.Errorf("the token service accepted %d logins and refused %v, want at least 2 and none", len(seen), refused)
	}
	for _, p := range seen {
		if p != passwords[0] {
			t.Errorf("the token service was sent a password the ECR fake did not issue")
		}
	}
}

// TestECRProviderRefused: when ECR refuses GetAuthorizationToken, the push
// fails before any token exchange, with an error that names the host and
// holds none of the AWS secrets.
func TestECRProviderRefused(t *testing.T) {
	e := startECR(t)
	e.aws.Deny(fakecloud.ECRTarget)
	err := push(ecrHost+"/demo/app:v1", randomImage(t, 1, 1024), e.r.RemoteOptions(), name.Insecure)
	if err == nil || !strings.Contains(err.Error(), ecrHost) || !strings.Contains(err.Error(), "ecr:GetAuthorizationToken") {
		t.Fatalf("err = %v, want an error naming %s and the refused action", err, ecrHost)
	}
	t.Logf("push: %v", err)
	assertNoSecret(t, err, e.aws.Secrets()...)
	if calls := e.ecrCalls(); len(calls) == 0 || calls[0].Err == "" {
		t.Errorf("ECR calls = %+v, want refused ones", calls)
	}
	e.realm.mu.Lock()
	defer e.realm.mu.Unlock()
	if n := len(e.realm.seen) + len(e.realm.refused); n != 0 {
		t.Errorf("the token service got %d requests, want none", n)
	}
}
