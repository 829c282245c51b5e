package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// signerRE is the subject regular expression that matches the test
// Sigstore's default signer whole.
const signerRE = `^release@flux-mirror\.example$`

// verifyEntry is one artifacts entry of a verifying config. The zero
// identity fields mean the test Sigstore's signer; noIdentity leaves
// matchOIDCIdentity out (a key-only entry).
type verifyEntry struct {
	src, dst                       string // repositories
	limit                          int
	referrers                      bool
	issuer, subject                string
	noIdentity                     bool
	trustedRoot, publicKey, minAge string // as the config writes them
}

// verifyConfig writes a v1beta2 config of the entries into dir, where
// their trustedRoot and publicKey files are, and returns its path.
func verifyConfig(t *testing.T, dir string, entries ...verifyEntry) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(headerV2 + "artifacts:\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "- source: %s\n  destination: %s\n  selector: {limit: %d}\n", e.src, e.dst, e.limit)
		if e.referrers {
			b.WriteString("  includeReferrers: true\n")
		}
		b.WriteString("  verify:\n    provider: cosign\n")
		if !e.noIdentity {
			issuer, subject := e.issuer, e.subject
			if issuer == "" {
				issuer = testenv.SigstoreIssuer
			}
			if subject == "" {
				subject = signerRE
			}
			fmt.Fprintf(&b, "    matchOIDCIdentity:\n    - issuer: %s\n      subject: '%s'\n", issuer, subject)
		}
		for _, kv := range [][2]string{{"trustedRoot", e.trustedRoot}, {"publicKey", e.publicKey}, {"minAge", e.minAge}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "    %s: %s\n", kv[0], kv[1])
			}
		}
	}
	return writeFile(t, dir, "mirror.yaml", b.String())
}

// verifyDir is a config directory holding ss's trusted_root.json.
func verifyDir(t *testing.T, ss *testenv.Sigstore) string {
	t.Helper()
	dir := t.TempDir()
	ss.WriteTrustedRoot(t, filepath.Join(dir, "trusted_root.json"))
	return dir
}

// copyInto copies the file at path into dir under name.
func copyInto(t *testing.T, path, dir, name string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, name), raw, 0o600))
}

// notCopied fails the test when the destination received a write for repo
// or serves repo:tag.
func notCopied(t *testing.T, dst *testenv.Registry, repo, tag string) {
	t.Helper()
	for _, l := range dst.AccessLog(t) {
		if strings.HasPrefix(l.Path, "/v2/"+repo+"/") && l.Method != http.MethodGet && l.Method != http.MethodHead {
			t.Errorf("the destination received a write for %s: %s", repo, l)
		}
	}
	ref, err := name.ParseReference(dst.Host + "/" + repo + ":" + tag)
	must(t, err)
	_, err = remote.Head(ref)
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD %s: %v, want 404", ref, err)
	}
}

// tagRow is the report row of the only tag of the entry whose source is
// src.
func tagRow(t *testing.T, rep v1beta2.Report, src string) v1beta2.TagResult {
	t.Helper()
	for _, res := range rep.Report.Results {
		if res.Source == src {
			if len(res.Tags) != 1 {
				t.Fatalf("%s: %d tag rows, want 1: %+v", src, len(res.Tags), res)
			}
			return res.Tags[0]
		}
	}
	t.Fatalf("no result for %s in %+v", src, rep.Report.Results)
	return v1beta2.TagResult{}
}

// TestSyncVerifyAccepted mirrors, through the command, a keyless bundle
// referrer from a registry with the referrers API, a keyless .sig tag
// signature from distribution v3, and images signed by the real cosign
// with a key in both forms: each copied with its verification in the text
// output and the report, its signature carried along (includeReferrers),
// and the real cosign verifying the mirrored copy at the destination.
func TestSyncVerifyAccepted(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	refSrc, src, dst := testenv.StartReferrersRegistry(t), testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	ss, cos := testenv.NewSigstore(t), testenv.NewCosign(t)
	dir := verifyDir(t, ss)
	copyInto(t, cos.Pub, dir, "cosign.pub")
	at := time.Now().Truncate(time.Second).Add(2 * time.Second)

	bundled := testenv.PushImage(t, refSrc.Host, "bundle", "1.0.0", image(t, 61))
	ss.SignBundle(t, refSrc.Host, "bundle", bundled, testenv.SignOptions{IntegratedTime: at})
	tagged := testenv.PushImage(t, src.Host, "sigtag", "1.0.0", image(t, 62))
	ss.SignTag(t, src.Host, "sigtag", tagged, testenv.SignOptions{IntegratedTime: at})
	keyTag := testenv.PushImage(t, src.Host, "key-tag", "1.0.0", image(t, 63))
	cos.Sign(t, src.Host+"/key-tag@"+keyTag.Digest.String())
	keyBundle := testenv.PushImage(t, src.Host, "key-bundle", "1.0.0", image(t, 64))
	cos.SignBundle(t, src.Host+"/key-bundle@"+keyBundle.Digest.String())

	keyless := func(repo, host string) verifyEntry {
		return verifyEntry{src: host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1, referrers: true, trustedRoot: "trusted_root.json"}
	}
	key := func(repo string) verifyEntry {
		return verifyEntry{src: src.Host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1, referrers: true, noIdentity: true, publicKey: "cosign.pub"}
	}
	cfg := verifyConfig(t, dir, keyless("bundle", refSrc.Host), keyless("sigtag", src.Host), key("key-tag"), key("key-bundle"))
	reportFile := filepath.Join(t.TempDir(), "report.json")

	r := run(t, nil, "sync", cfg, "--no-progress", "--report", reportFile)
	if r.code != 0 {
		t.Fatalf("exit status %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
	}
	keylessLine := "    signed by " + testenv.SigstoreIdentity + " (issuer " + testenv.SigstoreIssuer + "), logged "
	for _, want := range []string{
		"✔ " + refSrc.Host + "/bundle:1.0.0 (copied)\n  → " + dst.Host + "/bundle:1.0.0\n" + keylessLine,
		"✔ " + src.Host + "/sigtag:1.0.0 (copied)\n  → " + dst.Host + "/sigtag:1.0.0\n" + keylessLine,
		"✔ " + src.Host + "/key-tag:1.0.0 (copied)\n  → " + dst.Host + "/key-tag:1.0.0\n    signed with the key of verify.publicKey\n",
		"✔ " + src.Host + "/key-bundle:1.0.0 (copied)\n  → " + dst.Host + "/key-bundle:1.0.0\n    signed with the key of verify.publicKey\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks\n%s\n---\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "logged -") {
		t.Errorf("a negative age in the text output:\n%s", r.stdout)
	}
	rep := readReport(t, reportFile)
	wantTime := at.UTC().Format(time.RFC3339)
	for _, c := range []struct {
		src     string
		keyless bool
	}{{refSrc.Host + "/bundle", true}, {src.Host + "/sigtag", true}, {src.Host + "/key-tag", false}, {src.Host + "/key-bundle", false}} {
		row := tagRow(t, rep, c.src)
		v := row.Verification
		switch {
		case row.Status != v1beta2.StatusCopied || v == nil || v.Provider != "cosign" || v.MinAge != "":
			t.Errorf("%s: row %+v, verification %+v; want copied with a cosign verification", c.src, row, v)
		case c.keyless && (v.Issuer != testenv.SigstoreIssuer || v.Identity != testenv.SigstoreIdentity || v.IntegratedTime != wantTime || v.Age == "" || strings.HasPrefix(v.Age, "-")):
			t.Errorf("%s: verification %+v, want issuer, identity, integratedTime %s and an age (not negative)", c.src, *v, wantTime)
		case !c.keyless && (v.Issuer != "" || v.Identity != "" || v.IntegratedTime != "" || v.Age != ""):
			t.Errorf("%s: verification %+v, want no identity and no log time (signed with a key, no log)", c.src, *v)
		}
		if len(row.Referrers) == 0 {
			t.Errorf("%s: no referrer rows: the signature did not travel", c.src)
		}
	}

	// Up to date, nothing would be copied: nothing is verified.
	r = run(t, nil, "sync", cfg, "--no-progress", "-o", "json")
	for _, res := range checkReport(t, []byte(r.stdout)).Report.Results {
		if tg := res.Tags[0]; r.code != 0 || tg.Status != v1beta2.StatusSkipped || tg.Reason != v1beta2.ReasonUpToDate || tg.Verification != nil {
			t.Errorf("second run, %s: exit %d, %+v; want skipped up-to-date without a verification", res.Source, r.code, tg)
		}
	}

	// The real cosign agrees on the mirrored copies.
	rootFile := filepath.Join(dir, "trusted_root.json")
	for _, repo := range []string{"bundle", "sigtag"} {
		if out, err := cos.VerifyKeyless(t, dst.Host+"/"+repo+":1.0.0", rootFile, testenv.SigstoreIssuer, signerRE); err != nil {
			t.Errorf("cosign verify of the mirrored %s: %v\n%s", repo, err, out)
		}
	}
	for _, repo := range []string{"key-tag", "key-bundle"} {
		if out, err := cos.Verify(t, dst.Host+"/"+repo+":1.0.0"); err != nil {
			t.Errorf("cosign verify --key of the mirrored %s: %v\n%s", repo, err, out)
		}
	}
}

// TestSyncVerifyDebianSource: Debian's docker-registry (distribution 2.8,
// no referrers API) as the source: a keyless bundle (through the
// referrers tag) and a .sig tag signature verify and travel.
func TestSyncVerifyDebianSource(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true}), testenv.StartSyncRegistry(t)
	ss, cos := testenv.NewSigstore(t), testenv.NewCosign(t)
	dir := verifyDir(t, ss)
	bundled := testenv.PushImage(t, src.Host, "bundle", "1.0.0", image(t, 151))
	ss.SignBundle(t, src.Host, "bundle", bundled, testenv.SignOptions{})
	tagged := testenv.PushImage(t, src.Host, "sigtag", "1.0.0", image(t, 152))
	ss.SignTag(t, src.Host, "sigtag", tagged, testenv.SignOptions{})
	entry := func(repo string) verifyEntry {
		return verifyEntry{src: src.Host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1, referrers: true, trustedRoot: "trusted_root.json"}
	}
	r := run(t, nil, "sync", verifyConfig(t, dir, entry("bundle"), entry("sigtag")), "--no-progress", "-o", "json")
	rep := checkReport(t, []byte(r.stdout))
	for _, repo := range []string{"bundle", "sigtag"} {
		if row := tagRow(t, rep, src.Host+"/"+repo); r.code != 0 || row.Status != v1beta2.StatusCopied || row.Verification == nil {
			t.Errorf("%s: exit %d, %+v; want copied, verified", repo, r.code, row)
		}
		if out, err := cos.VerifyKeyless(t, dst.Host+"/"+repo+":1.0.0", filepath.Join(dir, "trusted_root.json"), testenv.SigstoreIssuer, signerRE); err != nil {
			t.Errorf("cosign verify of the mirrored %s: %v\n%s", repo, err, out)
		}
	}
}
