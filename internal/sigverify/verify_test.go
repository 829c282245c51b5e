package sigverify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/fluxcd/flux-mirror/internal/sigverify"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// image pushes a small test image to host/repo and returns it with its
// digest reference.
func image(t testing.TB, host, repo string, seed uint64) (testenv.Pushed, name.Digest) {
	t.Helper()
	p := testenv.PushImage(t, host, repo, "v1", testenv.ImageSpec{Platform: "linux/amd64",
		Layers: []testenv.Blob{testenv.NewBlob(t, seed, 512)}})
	d, err := name.NewDigest(host + "/" + repo + "@" + p.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	return p, d
}

// keyless is a policy trusting ss for the kit's default signer.
func keyless(t testing.TB, ss *testenv.Sigstore) *sigverify.Policy {
	t.Helper()
	return &sigverify.Policy{TrustedRoot: ss.TrustedRoot(t),
		Identities: []sigverify.Identity{{Issuer: testenv.SigstoreIssuer, Subject: `^release@flux-mirror\.example$`}}}
}

// verify runs a fresh Verifier, bounded so that a hang fails the test.
func verify(t testing.TB, p *sigverify.Policy, d name.Digest, sigTag bool) (*sigverify.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return sigverify.NewVerifier(sigverify.Options{Timeout: 10 * time.Second}).Verify(ctx, p, d, sigTag)
}

func TestVerifyKeylessBundle(t *testing.T) {
	for _, reg := range []struct {
		name string
		host func(*testing.T) string
	}{
		{"distribution without referrers API", func(t *testing.T) string { return testenv.StartSyncRegistry(t).Host }},
		{"ociregistry with referrers API", func(t *testing.T) string { return testenv.StartReferrersRegistry(t).Host }},
	} {
		t.Run(reg.name, func(t *testing.T) {
			host := reg.host(t)
			ss := testenv.NewSigstore(t)
			img, d := image(t, host, "app", 1)
			at := time.Now().Truncate(time.Second).Add(2 * time.Second)
			ref := ss.SignBundle(t, host, "app", img, testenv.SignOptions{IntegratedTime: at})
			r, err := verify(t, keyless(t, ss), d, false)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := sigverify.Result{Issuer: testenv.SigstoreIssuer, Identity: testenv.SigstoreIdentity,
				IntegratedTime: at, Where: "referrer " + ref.String()}
			if !r.IntegratedTime.Equal(at) || r.Issuer != want.Issuer || r.Identity != want.Identity || r.Where != want.Where {
				t.Errorf("Result = %+v, want %+v", *r, want)
			}
		})
	}
}

func TestVerifyKeylessSigTag(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss := testenv.NewSigstore(t)
	img, d := image(t, host, "app", 2)
	at := time.Now().Truncate(time.Second).Add(2 * time.Second)
	ss.SignTag(t, host, "app", img, testenv.SignOptions{IntegratedTime: at})
	r, err := verify(t, keyless(t, ss), d, true)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	where := "tag sha256-" + img.Digest.Hex + ".sig layer 0"
	if r.Issuer != testenv.SigstoreIssuer || r.Identity != testenv.SigstoreIdentity || !r.IntegratedTime.Equal(at) || r.Where != where {
		t.Errorf("Result = %+v, want issuer %s, identity %s, time %s, where %q", *r, testenv.SigstoreIssuer, testenv.SigstoreIdentity, at, where)
	}
	// The engine passes sigTag=false when the tag list lacks the tag:
	// then the tag is not read, and the error says so.
	_, err = verify(t, keyless(t, ss), d, false)
	if !errors.Is(err, sigverify.ErrUnverified) || !strings.Contains(err.Error(), "the tag list has no sha256-"+img.Digest.Hex+".sig tag") {
		t.Errorf("Verify without the tag listed: %v, want a refusal saying the tag is not listed", err)
	}
}

func TestVerifyKeyCosign(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	cosign := testenv.NewCosign(t)
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(readFile(t, cosign.Pub))
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []struct {
		name  string
		sign  func(testing.TB, string)
		where string
	}{
		{"sig tag", cosign.Sign, "tag sha256-"},
		{"bundle referrer", cosign.SignBundle, "referrer sha256:"},
	} {
		t.Run(form.name, func(t *testing.T) {
			repo := "key-" + strings.ReplaceAll(form.name, " ", "-")
			_, d := image(t, host, repo, 3)
			form.sign(t, d.String())
			r, err := verify(t, &sigverify.Policy{PublicKey: pub}, d, true)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if r.KeyID == "" || r.Issuer != "" || r.Identity != "" || !r.IntegratedTime.IsZero() || !strings.HasPrefix(r.Where, form.where) {
				t.Errorf("Result = %+v, want a key ID, no identity, no log time (signed without a log), where %s...", *r, form.where)
			}
			// The same signature under a keyless-only policy is refused,
			// and the error says what is missing.
			ss := testenv.NewSigstore(t)
			_, err = verify(t, keyless(t, ss), d, true)
			if !errors.Is(err, sigverify.ErrUnverified) || !strings.Contains(err.Error(), "no verify.publicKey") {
				t.Errorf("Verify keyless-only: %v, want a refusal naming verify.publicKey", err)
			}
		})
	}
}

// TestVerifyAnyIdentity: any one of the identities accepts, whichever
// comes first.
func TestVerifyAnyIdentity(t *testing.T) {
	host := testenv.StartSyncRegistry(t).Host
	ss := testenv.NewSigstore(t)
	img, d := image(t, host, "any", 1)
	ss.SignTag(t, host, "any", img, testenv.SignOptions{Identity: "ci@flux-mirror.example", Issuer: "https://ci.example.com"})
	p := keyless(t, ss)
	p.Identities = append(p.Identities, sigverify.Identity{Issuer: "https://ci.example.com", Subject: "^ci@"})
	r, err := verify(t, p, d, true)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if r.Issuer != "https://ci.example.com" || r.Identity != "ci@flux-mirror.example" {
		t.Errorf("Result = %+v, want the second identity", *r)
	}
}
