package cli

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

var cosignTagRE = regexp.MustCompile(`sha256-[0-9a-f]{64}`)

// TestSyncReferrers mirrors a signed image with an SBOM from a registry
// with the referrers API to one without, through the CLI: a dry run and
// the copy print one line per referrer under the tag (golden files), and
// the second run's JSON report, valid against the schema, has one skipped
// row per referrer while the summary still counts the tag.
func TestSyncReferrers(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartReferrersRegistry(t), testenv.StartSyncRegistry(t)
	cos := testenv.NewCosign(t)
	img := testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 51)).Digest
	sbom := testenv.AttachSBOM(t, src.Host+"/app@"+img.String(), "app")
	cos.Sign(t, src.Host+"/app@"+img.String())
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", header+"artifacts:\n- source: "+src.Host+"/app\n  destination: "+
		dst.Host+"/app\n  selector: {limit: 1}\n  includeReferrers: true\n")
	hosts := map[string]string{src.Host: "SRC", dst.Host: "DST"}

	for _, step := range []struct{ golden, flag string }{
		{"sync-referrers-dry-run.stdout", "--dry-run"},
		{"sync-referrers.stdout", "--no-progress"},
	} {
		r := run(t, nil, "sync", cfg, step.flag)
		if r.code != 0 {
			t.Fatalf("sync %s: exit status %d\n%s%s", step.flag, r.code, r.stdout, r.stderr)
		}
		golden(t, step.golden, cosignTagRE.ReplaceAllString(normalize(r.stdout, hosts), "sha256-<hex>"))
	}
	if out, err := cos.Verify(t, dst.Host+"/app:1.0.0"); err != nil {
		t.Errorf("cosign verify at the destination: %v\n%s", err, out)
	}

	r := run(t, nil, "sync", cfg, "-o", "json")
	rep := checkReport(t, []byte(r.stdout))
	if s := rep.Report.Summary; s.Skipped != 1 || s.Copied != 0 || s.ExitCode != 0 {
		t.Errorf("summary %+v, want the one tag skipped", s)
	}
	tag := rep.Report.Results[0].Tags[0]
	want := []v1beta2.ReferrerResult{
		{Digest: sbom, ArtifactType: testenv.SBOMType, Status: v1beta2.StatusSkipped, Reason: v1beta2.ReasonUpToDate},
		{Tag: "sha256-" + img.Hex + ".sig", Status: v1beta2.StatusSkipped, Reason: v1beta2.ReasonUpToDate},
	}
	if len(tag.Referrers) != len(want) {
		t.Fatalf("referrer rows %+v, want %+v", tag.Referrers, want)
	}
	for i, w := range want {
		got := tag.Referrers[i]
		if w.Tag != "" && strings.HasPrefix(got.Digest, "sha256:") {
			w.Digest = got.Digest // the .sig manifest's, made by cosign
		}
		if got != w {
			t.Errorf("row %d: %+v, want %+v", i, got, w)
		}
	}
}

// TestReportReferrerDrift: a drifted cosign tag under a copied tag makes
// the run drift (exit code 2) though the counts, which are of tags, show
// none.
func TestReportReferrerDrift(t *testing.T) {
	res := []mirror.EntryResult{{Source: "src/app", Destination: "dst/app", Tags: []mirror.TagResult{{
		Tag: "1.0.0", Status: mirror.StatusCopied, Digest: "sha256:" + strings.Repeat("a", 64),
		Referrers: []mirror.ReferrerResult{{Tag: "sha256-" + strings.Repeat("a", 64) + ".sig",
			Digest: "sha256:" + strings.Repeat("b", 64), Status: mirror.StatusDrifted}},
	}}}}
	rep := buildReport(res, time.Second, time.Now(), false)
	if s := rep.Report.Summary; s.ExitCode != 2 || s.Drifted != 0 || s.Copied != 1 {
		t.Errorf("summary %+v, want exit code 2 with the tag counted as copied", s)
	}
	b, err := reportJSON(rep)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, b)
}
