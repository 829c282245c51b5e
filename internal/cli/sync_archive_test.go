package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// airgap is a config of a signed 2-platform index with an SBOM referrer
// and a chart, exported from real registries and a chart repository.
type airgap struct {
	cfg        string
	src        *testenv.Registry
	web        *testenv.Nginx
	index      string // the source tag's digest
	sbom       string
	dstHost    string
	chartRepos string
}

// newAirgap sets up the sources and a config whose destinations are in
// dstHost (no registry needs to run there for an export).
func newAirgap(t *testing.T, dstHost string) airgap {
	t.Helper()
	src := testenv.StartReferrersRegistry(t)
	idx := testenv.PushIndex(t, src.Host, "app", "1.0.0",
		testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{testenv.NewBlob(t, 71, 4096)}},
		testenv.ImageSpec{Platform: "linux/arm64", Layers: []testenv.Blob{testenv.NewBlob(t, 72, 4096)}})
	ref := src.Host + "/app@" + idx.Digest.String()
	sbom := testenv.AttachSBOM(t, ref, "app")
	testenv.NewCosign(t).Sign(t, ref)
	repo := testenv.MakeChartRepository(t, demoCharts...)
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", headerV2+"artifacts:\n- source: "+src.Host+"/app\n  destination: "+
		dstHost+"/mirror/app\n  selector: {limit: 1}\n  includeReferrers: true\n"+
		"charts:\n- name: demo\n  source: http://"+web.Host+"\n  destination: oci://"+dstHost+"/charts\n  version: '>=1.0.0 <1.2.0'\n  limit: 0\n")
	return airgap{cfg: cfg, src: src, web: web, index: idx.Digest.String(), sbom: sbom, dstHost: dstHost}
}

// statuses lists "label:tag=status" and the referrer rows of a report.
func statuses(rep v1beta2.Report) string {
	var out []string
	for _, res := range rep.Report.Results {
		if res.Error != "" {
			out = append(out, res.Source+" plan: "+res.Error)
		}
		for _, tg := range res.Tags {
			out = append(out, tg.Tag+"="+tg.Status)
			for _, r := range tg.Referrers {
				out = append(out, "  ref="+r.Status)
			}
		}
	}
	return strings.Join(out, " ")
}

// TestSyncArchiveRoundTrip exports the config into a zstd archive without
// contacting the destination, imports it into an empty registry (every
// digest as at the source, the signature verifiable), and imports it
// again: all skipped.
func TestSyncArchiveRoundTrip(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dst := testenv.StartSyncRegistry(t)
	a := newAirgap(t, dst.Host)
	archive := filepath.Join(t.TempDir(), "site.tar.zst")

	r := run(t, nil, "sync", a.cfg, "--insecure", "-o", "json", "--to-archive", archive)
	rep := checkReport(t, []byte(r.stdout))
	want := "1.0.0=copied   ref=copied   ref=copied 1.1.0=copied 1.0.0=copied"
	if got := statuses(rep); r.code != 0 || got != want {
		t.Fatalf("export: exit %d, %s; want %s\n%s", r.code, got, want, r.stderr)
	}
	if n := len(dst.AccessLog(t)); n != 0 {
		t.Errorf("the export sent %d requests to the destination registry, want none", n)
	}
	if rep.Report.Results[0].Source != a.src.Host+"/app" {
		t.Errorf("export label %q", rep.Report.Results[0].Source)
	}

	r = run(t, nil, "sync", a.cfg, "--insecure", "-o", "json", "--from-archive", archive)
	rep = checkReport(t, []byte(r.stdout))
	if got := statuses(rep); r.code != 0 || got != want {
		t.Fatalf("import: exit %d, %s; want %s\n%s", r.code, got, want, r.stderr)
	}
	if rep.Report.Results[1].Source != "http://"+a.web.Host+"/demo" {
		t.Errorf("import keeps the config's labels, got %q", rep.Report.Results[1].Source)
	}
	for _, pair := range [][2]string{
		{a.src.Host + "/app:1.0.0", dst.Host + "/mirror/app:1.0.0"},
		{a.src.Host + "/app:sha256-" + strings.TrimPrefix(a.index, "sha256:") + ".sig", dst.Host + "/mirror/app:sha256-" + strings.TrimPrefix(a.index, "sha256:") + ".sig"},
		{a.src.Host + "/app@" + a.sbom, dst.Host + "/mirror/app@" + a.sbom},
	} {
		if s, d := headDigest(t, pair[0]), headDigest(t, pair[1]); s != d {
			t.Errorf("%s is %s at the destination, %s at the source", pair[1], d, s)
		}
	}
	if got := rep.Report.Results[0].Tags[0].Digest; got != a.index {
		t.Errorf("imported digest %s, want the source's %s", got, a.index)
	}

	r = run(t, nil, "sync", a.cfg, "--insecure", "-o", "json", "--from-archive", archive)
	rep = checkReport(t, []byte(r.stdout))
	if got, want := statuses(rep), "1.0.0=skipped   ref=skipped   ref=skipped 1.1.0=skipped 1.0.0=skipped"; r.code != 0 || got != want {
		t.Errorf("second import: exit %d, %s; want %s", r.code, got, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(archive)); len(entries) != 1 {
		t.Errorf("the archive's directory holds %d files, want the archive alone (no staging left)", len(entries))
	}
}

// headDigest is the digest ref has.
func headDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	must(t, err)
	d, err := remote.Head(r)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return d.Digest.String()
}
