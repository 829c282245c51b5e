package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestSyncVerifyOffline: without trustedRoot a keyless entry needs the
// public-good trust root from TUF; behind a proxy that never answers the
// tag fails with an error naming verify.trustedRoot, and the command
// returns (bounded by --timeout; the test only bounds it loosely).
func TestSyncVerifyOffline(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	ss := testenv.NewSigstore(t)
	img := testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 121))
	ss.SignBundle(t, src.Host, "app", img, testenv.SignOptions{})
	cfg := verifyConfig(t, t.TempDir(), verifyEntry{src: src.Host + "/app", dst: dst.Host + "/app", limit: 1})
	// No TUF cache shared with the user or another test.
	t.Setenv("HOME", t.TempDir())
	proxy, _ := testenv.SilentProxy(t)
	testenv.UseProxy(t, proxy)

	done := make(chan result, 1)
	go func() { done <- run(t, nil, "sync", cfg, "--no-progress", "--timeout", "3s", "-o", "json") }()
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("sync did not return within two minutes with --timeout 3s")
	}
	if r.code != 1 {
		t.Fatalf("exit status %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	row := tagRow(t, checkReport(t, []byte(r.stdout)), src.Host+"/app")
	if row.Status != v1beta2.StatusFailed || !strings.Contains(row.Error, "verify.trustedRoot") {
		t.Errorf("row %+v, want failed with an error naming verify.trustedRoot", row)
	}
	t.Log(row.Error)
	notCopied(t, dst.Registry, "app", "1.0.0")
}

// TestSyncVerifyAirGap exports a signed image with its signature
// (includeReferrers) into an archive, verified on the connected side, and
// imports it with trustedRoot: the import verifies again from the
// archive's copy of the signature, without contacting the source, and the
// real cosign accepts the result. An archive exported without the
// signature cannot be imported by an entry that verifies.
func TestSyncVerifyAirGap(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartReferrersRegistry(t), testenv.StartSyncRegistry(t)
	ss, cos := testenv.NewSigstore(t), testenv.NewCosign(t)
	dir := verifyDir(t, ss)
	for i, repo := range []string{"bundle", "sigtag", "bare"} {
		img := testenv.PushImage(t, src.Host, repo, "1.0.0", image(t, uint64(131+i)))
		switch repo {
		case "sigtag":
			ss.SignTag(t, src.Host, repo, img, testenv.SignOptions{})
		default:
			ss.SignBundle(t, src.Host, repo, img, testenv.SignOptions{})
		}
	}
	entry := func(repo string, referrers bool) verifyEntry {
		return verifyEntry{src: src.Host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1, referrers: referrers, trustedRoot: "trusted_root.json"}
	}
	cfg := verifyConfig(t, dir, entry("bundle", true), entry("sigtag", true))
	archive := filepath.Join(t.TempDir(), "site.tar.zst")

	r := run(t, nil, "sync", cfg, "--no-progress", "-o", "json", "--to-archive", archive)
	if r.code != 0 {
		t.Fatalf("export: exit status %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	rep := checkReport(t, []byte(r.stdout))
	for _, repo := range []string{"bundle", "sigtag"} {
		if row := tagRow(t, rep, src.Host+"/"+repo); row.Status != v1beta2.StatusCopied || row.Verification == nil {
			t.Errorf("export of %s: %+v, want copied with its verification", repo, row)
		}
	}

	before := len(src.AccessLog(t))
	r = run(t, nil, "sync", cfg, "--no-progress", "-o", "json", "--from-archive", archive)
	if r.code != 0 {
		t.Fatalf("import: exit status %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	rep = checkReport(t, []byte(r.stdout))
	for _, repo := range []string{"bundle", "sigtag"} {
		row := tagRow(t, rep, src.Host+"/"+repo)
		if v := row.Verification; row.Status != v1beta2.StatusCopied || v == nil || v.Identity != testenv.SigstoreIdentity || v.IntegratedTime == "" {
			t.Errorf("import of %s: %+v (%+v), want copied, verified again", repo, row, v)
		}
		if out, err := cos.VerifyKeyless(t, dst.Host+"/"+repo+":1.0.0", filepath.Join(dir, "trusted_root.json"), testenv.SigstoreIssuer, signerRE); err != nil {
			t.Errorf("cosign verify of the imported %s: %v\n%s", repo, err, out)
		}
	}
	if after := src.AccessLog(t); len(after) != before {
		t.Errorf("the import contacted the source: %v", after[before:])
	}

	// Without the signature in the archive, the import has nothing to verify.
	bare := verifyConfig(t, dir, entry("bare", false))
	unsigned := filepath.Join(t.TempDir(), "bare.tar")
	if r := run(t, nil, "sync", bare, "--no-progress", "--to-archive", unsigned); r.code != 0 {
		t.Fatalf("export without referrers: exit status %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, nil, "sync", bare, "--no-progress", "-o", "json", "--from-archive", unsigned)
	row := tagRow(t, checkReport(t, []byte(r.stdout)), src.Host+"/bare")
	if r.code != 1 || row.Status != v1beta2.StatusFailed || !strings.Contains(row.Error, "no signature found") {
		t.Errorf("import without the signature: exit %d, %+v; want failed, no signature found", r.code, row)
	}
	notCopied(t, dst.Registry, "bare", "1.0.0")
}
