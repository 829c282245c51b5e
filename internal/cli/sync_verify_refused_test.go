package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestSyncVerifyRefused signs images in ways verify must refuse and runs
// the command on each (one repository per row, one registry pair): the
// tag fails, in the text output and the report, with an error naming the
// digest and saying why, and nothing of it reaches the destination.
func TestSyncVerifyRefused(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartReferrersRegistry(t), testenv.StartSyncRegistry(t)
	ss, untrusted := testenv.NewSigstore(t), testenv.NewSigstore(t)
	dir := verifyDir(t, ss)
	other := testenv.PushImage(t, src.Host, "other", "1.0.0", image(t, 80)).Digest.String()
	bundle := func(o testenv.SignOptions) func(string, testenv.Pushed) {
		return func(repo string, img testenv.Pushed) { ss.SignBundle(t, src.Host, repo, img, o) }
	}
	sigTag := func(o testenv.SignOptions) func(string, testenv.Pushed) {
		return func(repo string, img testenv.Pushed) { ss.SignTag(t, src.Host, repo, img, o) }
	}
	for i, c := range []struct {
		name   string
		sign   func(repo string, img testenv.Pushed)
		issuer string // the config's; "": the signer's
		want   string
	}{
		{name: "wrong issuer", sign: bundle(testenv.SignOptions{Issuer: "https://other.example.com"}),
			want: `expected issuer value "https://issuer.example.com", got "https://other.example.com"`},
		{name: "issuer a prefix of the certificate's (a regular expression would match)", sign: bundle(testenv.SignOptions{}),
			issuer: "https://issuer.example", want: `expected issuer value "https://issuer.example", got "https://issuer.example.com"`},
		{name: "subject not matching", sign: sigTag(testenv.SignOptions{Identity: "intruder@flux-mirror.example"}),
			want: "intruder@flux-mirror.example"},
		{name: "bundle over another digest", sign: bundle(testenv.SignOptions{Subject: other}),
			want: "provided artifact digest does not match any digest in statement"},
		{name: "sig tag over another digest", sign: sigTag(testenv.SignOptions{Subject: other}),
			want: "the signed payload is for " + other + ", another digest"},
		{name: "expired certificate", sign: bundle(testenv.SignOptions{CertExpired: true}),
			want: "integrated time outside certificate validity"},
		{name: "untrusted certificate", sign: func(repo string, img testenv.Pushed) {
			untrusted.SignTag(t, src.Host, repo, img, testenv.SignOptions{})
		}, want: "verify.trustedRoot does not trust"},
		{name: "tampered bundle payload", sign: bundle(testenv.SignOptions{TamperPayload: true}), want: "does not match"},
		{name: "tampered sig tag payload", sign: sigTag(testenv.SignOptions{TamperPayload: true}), want: "does not match"},
		{name: "no signature at all", sign: func(string, testenv.Pushed) {}, want: "no signature found"},
		{name: "bundle older than v0.3", sign: bundle(testenv.SignOptions{BundleVersion: "v0.2"}),
			want: "the Sigstore bundle is v0.2, older than v0.3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("refused-%d", i)
			img := testenv.PushImage(t, src.Host, repo, "1.0.0", image(t, uint64(81+i)))
			c.sign(repo, img)
			cfg := verifyConfig(t, dir, verifyEntry{src: src.Host + "/" + repo, dst: dst.Host + "/" + repo, limit: 1,
				referrers: true, issuer: c.issuer, trustedRoot: "trusted_root.json"})
			reportFile := filepath.Join(t.TempDir(), "report.json")
			r := run(t, nil, "sync", cfg, "--no-progress", "--report", reportFile)
			if r.code != 1 {
				t.Fatalf("exit status %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			why := "signature check: " + src.Host + "/" + repo + "@" + img.Digest.String() + ": "
			line := "✗ " + src.Host + "/" + repo + ":1.0.0 — " + why
			if !strings.Contains(r.stdout, line) || !strings.Contains(r.stdout, c.want) {
				t.Errorf("stdout lacks %q and %q:\n%s", line, c.want, r.stdout)
			}
			row := tagRow(t, readReport(t, reportFile), src.Host+"/"+repo)
			if row.Status != v1beta2.StatusFailed || !strings.Contains(row.Error, why) || !strings.Contains(row.Error, c.want) ||
				row.Verification != nil {
				t.Errorf("report row %+v, want failed saying %q, without a verification", row, c.want)
			}
			t.Log(row.Error)
			notCopied(t, dst.Registry, repo, "1.0.0")
		})
	}
}

// TestSyncVerifyStops: a tag whose signature does not verify fails, the
// entry's later tags are not planned (one job at a time, so none started
// before), another entry still copies, and the run exits 1.
func TestSyncVerifyStops(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	ss := testenv.NewSigstore(t)
	dir := verifyDir(t, ss)
	// Highest first: 3.0.0 (signed by someone else) runs first.
	for i, tag := range []string{"3.0.0", "2.0.0", "1.0.0"} {
		img := testenv.PushImage(t, src.Host, "stop", tag, image(t, uint64(90+i)))
		o := testenv.SignOptions{}
		if tag == "3.0.0" {
			o.Identity = "intruder@flux-mirror.example"
		}
		ss.SignTag(t, src.Host, "stop", img, o)
	}
	goes := testenv.PushImage(t, src.Host, "goes-on", "1.0.0", image(t, 95))
	ss.SignTag(t, src.Host, "goes-on", goes, testenv.SignOptions{})
	cfg := verifyConfig(t, dir,
		verifyEntry{src: src.Host + "/stop", dst: dst.Host + "/stop", trustedRoot: "trusted_root.json"},
		verifyEntry{src: src.Host + "/goes-on", dst: dst.Host + "/goes-on", limit: 1, trustedRoot: "trusted_root.json"})
	// limit 0 keeps the three semver tags (the .sig tags are not semver).

	r := run(t, nil, "sync", cfg, "--no-progress", "--concurrency", "1", "-o", "json")
	if r.code != 1 {
		t.Fatalf("exit status %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	rep := checkReport(t, []byte(r.stdout))
	stop := rep.Report.Results[0].Tags
	got := statuses(rep)
	if want := "3.0.0=failed 2.0.0=failed 1.0.0=failed 1.0.0=copied"; got != want {
		t.Fatalf("statuses %q, want %q", got, want)
	}
	if !strings.Contains(stop[0].Error, "intruder@flux-mirror.example") {
		t.Errorf("3.0.0: %q, want the refused identity", stop[0].Error)
	}
	for _, row := range stop[1:] {
		if want := "not planned: the signature of tag 3.0.0 did not verify"; !strings.HasPrefix(row.Error, want) {
			t.Errorf("%s: %q, want %q...", row.Tag, row.Error, want)
		}
		notCopied(t, dst.Registry, "stop", row.Tag)
	}
	if s := rep.Report.Summary; s.Failed != 3 || s.Copied != 1 || s.ExitCode != 1 {
		t.Errorf("summary %+v, want 3 failed, 1 copied, exit code 1", s)
	}
}
