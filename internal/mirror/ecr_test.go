package mirror_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/registry"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// ecrHost is the destination's name: a private ECR host, reached on the
// loopback registry through the registries' dialer.
const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

// runToECR mirrors src/app to ecrHost/mirror/app, wired as sync wires the
// engine: a hosts entry with provider ecr, the registries' keychain and
// transport, plain HTTP. It returns the entry's result and the registries.
func runToECR(t *testing.T, src string, reg *testenv.LoginRegistry) (mirror.EntryResult, *registry.Registries) {
	t.Helper()
	regs, err := registry.New(context.Background(), registry.Options{
		Root: t.TempDir(), Hosts: []config.Host{{Host: ecrHost, Provider: "ecr"}},
		DialContext: testenv.DialAs(ecrHost, reg.Host),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = regs.Close() })
	res := run(t, []mirror.Entry{{Source: src + "/app", Destination: ecrHost + "/mirror/app"}}, func(o *mirror.Options) {
		o.Remote = []remote.Option{remote.WithAuthFromKeychain(regs.Keychain())}
		o.Transport, o.Insecure, o.Retries = regs.Transport(), true, 0
	})
	return res[0], regs
}

// TestMirrorToECR: the engine copies from a plain registry to one named as
// an ECR host, whose token service takes only the login ECR issued; one
// GetAuthorizationToken call serves the whole run.
func TestMirrorToECR(t *testing.T) {
	isolate(t)
	testenv.PinBinDir(t)
	f := fakecloud.ServeECR(t)
	reg := testenv.StartLoginRegistry(t, f.CheckECRLogin)
	src := testenv.StartSyncRegistry(t)
	pushed := map[string]testenv.Pushed{
		"v1": testenv.PushImage(t, src.Host, "app", "v1", image(t, 1)),
		"v2": testenv.PushImage(t, src.Host, "app", "v2", image(t, 2)),
	}

	res, regs := runToECR(t, src.Host, reg)
	if res.Err != nil || len(res.Tags) != 2 {
		t.Fatalf("result: %+v", res)
	}
	for _, tr := range res.Tags {
		if tr.Status != mirror.StatusCopied || tr.Err != nil {
			t.Errorf("%s: %s %v", tr.Tag, tr.Status, tr.Err)
		}
		ref, err := name.ParseReference(ecrHost+"/mirror/app:"+tr.Tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(ref, remote.WithAuthFromKeychain(regs.Keychain()), remote.WithTransport(regs.Transport()))
		if err != nil || d.Digest != pushed[tr.Tag].Digest {
			t.Errorf("%s in the destination: %v, %v; want %s", tr.Tag, d, err, pushed[tr.Tag].Digest)
		}
	}
	passwords, calls := f.ECRPasswords(), f.ECRCalls()
	logins, refused := reg.Logins()
	t.Logf("%d ECR calls; the token service accepted %d logins, refused %d", len(calls), len(logins), len(refused))
	if len(passwords) != 1 || len(calls) != 1 {
		t.Errorf("%d ECR passwords and %d ECR calls, want one mint for the run", len(passwords), len(calls))
	}
	if len(logins) == 0 || len(refused) != 0 {
		t.Errorf("the token service accepted %d logins and refused %v, want some and none", len(logins), refused)
	}
	for _, l := range logins {
		if l != (testenv.Login{Username: "AWS", Password: passwords[0]}) {
			t.Errorf("the token service was sent username %q and a password other than ECR's", l.Username)
		}
	}
}

// TestMirrorToECRRefused: when ECR refuses GetAuthorizationToken, the
// entry fails with errors that name the destination host, hold no AWS
// secret, and nothing reaches the token service.
func TestMirrorToECRRefused(t *testing.T) {
	isolate(t)
	testenv.PinBinDir(t)
	f := fakecloud.ServeECR(t)
	f.Deny(fakecloud.ECRTarget)
	reg := testenv.StartLoginRegistry(t, f.CheckECRLogin)
	src := testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "app", "v1", image(t, 1))

	res, _ := runToECR(t, src.Host, reg)
	errs := []error{res.Err}
	for _, tr := range res.Tags {
		errs = append(errs, tr.Err)
	}
	failed := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		failed++
		t.Logf("error: %v", err)
		if !strings.Contains(err.Error(), ecrHost) {
			t.Errorf("error does not name %s: %v", ecrHost, err)
		}
		for _, s := range f.Secrets() {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error holds an AWS secret: %v", err)
			}
		}
	}
	if failed == 0 {
		t.Fatalf("the entry did not fail: %+v", res)
	}
	if logins, refused := reg.Logins(); len(logins)+len(refused) != 0 {
		t.Errorf("the token service got %d requests, want none", len(logins)+len(refused))
	}
}
