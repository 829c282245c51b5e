package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestSyncVerifyMinAge: a fresh keyless signature is too new for minAge
// (skipped, signature-too-new, nothing copied); a key signature the log
// recorded half an hour ago is old enough (copied, its log time and
// minAge in the report); a key signature without a log entry (the real
// cosign, --tlog-upload=false) cannot show its age and fails.
func TestSyncVerifyMinAge(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	ss, cos := testenv.NewSigstore(t), testenv.NewCosign(t)
	dir := verifyDir(t, ss)
	copyInto(t, cos.Pub, dir, "cosign.pub")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	pem, err := cryptoutils.MarshalPublicKeyToPEM(key.Public())
	must(t, err)
	writeFile(t, dir, "old.pub", string(pem))

	fresh := testenv.PushImage(t, src.Host, "fresh", "1.0.0", image(t, 101))
	ss.SignBundle(t, src.Host, "fresh", fresh, testenv.SignOptions{})
	old := testenv.PushImage(t, src.Host, "old", "1.0.0", image(t, 102))
	logged := time.Now().Truncate(time.Second).Add(-30 * time.Minute)
	ss.SignTagWithKey(t, src.Host, "old", old, key, testenv.SignOptions{IntegratedTime: logged})
	nolog := testenv.PushImage(t, src.Host, "nolog", "1.0.0", image(t, 103))
	cos.SignBundle(t, src.Host+"/nolog@"+nolog.Digest.String())
	entry := func(repo, minAge, publicKey string) verifyEntry {
		return verifyEntry{src: src.Host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1, noIdentity: publicKey != "",
			publicKey: publicKey, trustedRoot: "trusted_root.json", minAge: minAge}
	}
	cfg := verifyConfig(t, dir, entry("fresh", "1h", ""), entry("old", "10m", "old.pub"), entry("nolog", "10m", "cosign.pub"))
	reportFile := filepath.Join(t.TempDir(), "report.json")

	r := run(t, nil, "sync", cfg, "--no-progress", "--report", reportFile)
	if r.code != 1 {
		t.Fatalf("exit status %d, want 1 (nolog fails)\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"✔ " + src.Host + "/fresh:1.0.0 (skipped)\n  → " + dst.Host + "/fresh:1.0.0\n    signed by " + testenv.SigstoreIdentity,
		": younger than verify.minAge 1h0m0s, not copied yet\n",
		"✔ " + src.Host + "/old:1.0.0 (copied)\n  → " + dst.Host + "/old:1.0.0\n    signed with the key of verify.publicKey, logged 30m",
		"✗ " + src.Host + "/nolog:1.0.0 — signature check: " + src.Host + "/nolog@" + nolog.Digest.String(),
		"minAge 10m0s needs a verified transparency log time",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	rep := readReport(t, reportFile)
	if row := tagRow(t, rep, src.Host+"/fresh"); row.Status != v1beta2.StatusSkipped || row.Reason != v1beta2.ReasonSignatureTooNew ||
		row.Verification == nil || row.Verification.MinAge != "1h0m0s" || row.Verification.IntegratedTime == "" || row.Verification.Identity != testenv.SigstoreIdentity {
		t.Errorf("fresh: %+v (%+v), want skipped, signature-too-new, with its verification", row, row.Verification)
	}
	notCopied(t, dst.Registry, "fresh", "1.0.0")
	row := tagRow(t, rep, src.Host+"/old")
	if v := row.Verification; row.Status != v1beta2.StatusCopied || v == nil || v.MinAge != "10m0s" ||
		v.IntegratedTime != logged.UTC().Format(time.RFC3339) || !strings.HasPrefix(v.Age, "30m") || v.Identity != "" {
		t.Errorf("old: %+v (%+v), want copied with log time %s, an age of 30m and minAge 10m0s", row, v, logged.UTC().Format(time.RFC3339))
	}
	if row := tagRow(t, rep, src.Host+"/nolog"); row.Status != v1beta2.StatusFailed || !strings.Contains(row.Error, "minAge 10m0s needs a verified transparency log time") {
		t.Errorf("nolog: %+v, want failed naming minAge", row)
	}
	notCopied(t, dst.Registry, "nolog", "1.0.0")
}

// TestSyncVerifyDryRun: --dry-run verifies too: a good signature gives
// would-copy with its verification, a bad one fails the tag; nothing is
// written.
func TestSyncVerifyDryRun(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	ss := testenv.NewSigstore(t)
	dir := verifyDir(t, ss)
	good := testenv.PushImage(t, src.Host, "good", "1.0.0", image(t, 111))
	ss.SignTag(t, src.Host, "good", good, testenv.SignOptions{})
	bad := testenv.PushImage(t, src.Host, "bad", "1.0.0", image(t, 112))
	ss.SignBundle(t, src.Host, "bad", bad, testenv.SignOptions{Issuer: "https://other.example.com"})
	entry := func(repo string) verifyEntry {
		return verifyEntry{src: src.Host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1, referrers: true, trustedRoot: "trusted_root.json"}
	}
	cfg := verifyConfig(t, dir, entry("good"), entry("bad"))
	reportFile := filepath.Join(t.TempDir(), "report.json")

	r := run(t, nil, "sync", cfg, "--no-progress", "--dry-run", "--report", reportFile)
	if r.code != 1 {
		t.Fatalf("exit status %d, want 1 (bad fails)\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"✔ " + src.Host + "/good:1.0.0 (would-copy)\n  → " + dst.Host + "/good:1.0.0\n    signed by " + testenv.SigstoreIdentity,
		"✗ " + src.Host + "/bad:1.0.0 — signature check: " + src.Host + "/bad@" + bad.Digest.String(),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	rep := readReport(t, reportFile)
	if row := tagRow(t, rep, src.Host+"/good"); row.Status != v1beta2.StatusWouldCopy || row.Verification == nil ||
		row.Verification.Issuer != testenv.SigstoreIssuer || row.Verification.IntegratedTime == "" {
		t.Errorf("good: %+v (%+v), want would-copy with its verification", row, row.Verification)
	}
	if row := tagRow(t, rep, src.Host+"/bad"); row.Status != v1beta2.StatusFailed || !strings.Contains(row.Error, `got "https://other.example.com"`) {
		t.Errorf("bad: %+v, want failed naming the issuer", row)
	}
	notCopied(t, dst.Registry, "good", "1.0.0")
	notCopied(t, dst.Registry, "bad", "1.0.0")
}

// TestSyncVerifyPlatforms: with platforms, the signature checked is the
// source index's (what was signed), though the destination gets a new
// index of the chosen platforms; one over a single platform's image does
// not count.
func TestSyncVerifyPlatforms(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	ss := testenv.NewSigstore(t)
	dir := verifyDir(t, ss)
	two := func(repo string, seed uint64) testenv.Pushed {
		return testenv.PushIndex(t, src.Host, repo, "1.0.0",
			testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{testenv.NewBlob(t, seed, 1024)}},
			testenv.ImageSpec{Platform: "linux/arm64", Layers: []testenv.Blob{testenv.NewBlob(t, seed+1, 1024)}})
	}
	signed := two("signed", 141)
	ss.SignTag(t, src.Host, "signed", signed, testenv.SignOptions{})
	child := two("child", 143)
	// A signature of the amd64 image alone, not of the index.
	ref, err := name.ParseReference(src.Host + "/child:1.0.0")
	must(t, err)
	idx, err := remote.Index(ref)
	must(t, err)
	im, err := idx.IndexManifest()
	must(t, err)
	ss.SignTag(t, src.Host, "child", child, testenv.SignOptions{Subject: im.Manifests[0].Digest.String()})
	entry := func(repo string) verifyEntry {
		return verifyEntry{src: src.Host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1, trustedRoot: "trusted_root.json"}
	}
	cfg := verifyConfig(t, dir, entry("signed"))
	appendFile(t, cfg, "  platforms: [linux/amd64]\n")
	cfgChild := verifyConfig(t, t.TempDir(), entry("child"))
	copyInto(t, filepath.Join(dir, "trusted_root.json"), filepath.Dir(cfgChild), "trusted_root.json")
	appendFile(t, cfgChild, "  platforms: [linux/amd64]\n")

	r := run(t, nil, "sync", cfg, "--no-progress", "-o", "json")
	row := tagRow(t, checkReport(t, []byte(r.stdout)), src.Host+"/signed")
	if r.code != 0 || row.Status != v1beta2.StatusCopied || row.SourceDigest != signed.Digest.String() || row.Verification == nil {
		t.Errorf("signed index: exit %d, %+v; want copied from %s, verified", r.code, row, signed.Digest)
	}
	r = run(t, nil, "sync", cfgChild, "--no-progress", "-o", "json")
	row = tagRow(t, checkReport(t, []byte(r.stdout)), src.Host+"/child")
	if r.code != 1 || row.Status != v1beta2.StatusFailed || !strings.Contains(row.Error, "another digest") {
		t.Errorf("index whose child alone is signed: exit %d, %+v; want failed, the signature is over another digest", r.code, row)
	}
	notCopied(t, dst.Registry, "child", "1.0.0")
}
