package registry

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// ecrHost is the name the loopback registry is reached under: a private
// ECR host, so that provider ecr mints its login in us-west-2.
const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

// startECR starts the AWS fake and a registry whose token service accepts
// only the login ECR issues (username AWS, a password the fake made), and
// builds Registries with a provider ecr entry for ecrHost, whose
// connections go to that registry.
func startECR(t *testing.T) (*fakecloud.AWS, *testenv.LoginRegistry, *Registries, *logRecorder) {
	t.Helper()
	testenv.PinBinDir(t)
	f := fakecloud.ServeECR(t)
	reg := testenv.StartLoginRegistry(t, f.CheckECRLogin)
	r, log := newRegistriesWith(t, Options{
		Root: t.TempDir(), Hosts: []config.Host{{Host: ecrHost, Provider: "ecr"}},
		DialContext: testenv.DialAs(ecrHost, reg.Host),
	})
	return f, reg, r, log
}

// TestECRProviderLogin: a hosts entry with provider ecr logs in to its
// registry with the login the AWS SDK minted: go-containerregistry's token
// exchange sends username AWS and the password of the one
// GetAuthorizationToken call, for the push and again for the pull.
func TestECRProviderLogin(t *testing.T) {
	f, reg, r, log := startECR(t)
	roundTrip(t, ecrHost+"/demo/app:v1", r.RemoteOptions(), name.Insecure)

	passwords, calls := f.ECRPasswords(), f.ECRCalls()
	logins, refused := reg.Logins()
	t.Logf("%d ECR calls, %d mints logged, %d token requests with the ECR login", len(calls), log.count("minted"), len(logins))
	// One mint serves every request of the run: the login lasts 12 h.
	if len(passwords) != 1 || len(calls) != 1 || log.count("minted") != 1 {
		t.Fatalf("%d ECR passwords, %d ECR calls, %d mints, want 1 of each", len(passwords), len(calls), log.count("minted"))
	}
	if c := calls[0]; c.Err != "" || c.Sig.Region != "us-west-2" || c.Sig.Service != "ecr" {
		t.Errorf("ECR call = %+v, want GetAuthorizationToken signed for ecr in the host's region", c)
	}
	// The push and the pull each exchange it for a registry token.
	if len(logins) < 2 || len(refused) != 0 {
		t.Errorf("the token service accepted %d logins and refused %v, want at least 2 and none", len(logins), refused)
	}
	for _, l := range logins {
		if l != (testenv.Login{Username: "AWS", Password: passwords[0]}) {
			t.Errorf("the token service was sent username %q and a password other than ECR's", l.Username)
		}
	}
}

// TestECRProviderRefused: when no ECR login can be minted (ECR refuses
// GetAuthorizationToken, or the AWS identity is unknown to it), the push
// fails before any token exchange, with an error that names the host and
// the cause and holds none of the AWS secrets.
func TestECRProviderRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, f *fakecloud.AWS)
		want  string
	}{
		{"GetAuthorizationToken denied", func(_ *testing.T, f *fakecloud.AWS) { f.Deny(fakecloud.ECRTarget) },
			"the AWS identity needs ecr:GetAuthorizationToken"},
		{"unknown access key", func(t *testing.T, _ *fakecloud.AWS) {
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIANOTISSUEDBYFAKE0")
		}, "UnrecognizedClientException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, reg, r, _ := startECR(t)
			tc.setup(t, f)
			err := push(ecrHost+"/demo/app:v1", randomImage(t, 1, 1024), r.RemoteOptions(), name.Insecure)
			if err == nil || !strings.Contains(err.Error(), ecrHost) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an error naming %s and saying %q", err, ecrHost, tc.want)
			}
			t.Logf("push: %v", err)
			assertNoSecret(t, err, f.Secrets()...)
			if calls := f.ECRCalls(); len(calls) == 0 || calls[0].Err == "" {
				t.Errorf("ECR calls = %+v, want refused ones", calls)
			}
			if logins, refused := reg.Logins(); len(logins)+len(refused) != 0 {
				t.Errorf("the token service got %d requests, want none", len(logins)+len(refused))
			}
		})
	}
}
