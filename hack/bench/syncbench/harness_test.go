package syncbench

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// The benchmark's own arithmetic, checked without registries: a wrong
// count here would print wrong numbers for every tool.
func TestCountTraffic(t *testing.T) {
	t.Parallel()
	const d1, d2 = "sha256%3A" + "1111111111111111111111111111111111111111111111111111111111111111",
		"sha256%3A" + "2222222222222222222222222222222222222222222222222222222222222222"
	reqs := []testenv.AccessLine{
		{Method: "GET", Path: "/v2/", Status: 200},
		{Method: "GET", Path: "/v2/app/tags/list", Status: 200},
		{Method: "HEAD", Path: "/v2/app/manifests/v1", Status: 200},
		{Method: "HEAD", Path: "/v2/app/blobs/sha256:11", Status: 404},
		{Method: "POST", Path: "/v2/app/blobs/uploads/", Status: 202},
		{Method: "PATCH", Path: "/v2/app/blobs/uploads/u1?_state=x", Status: 202},
		{Method: "PUT", Path: "/v2/app/blobs/uploads/u1?_state=x&digest=" + d1, Status: 201},
		{Method: "PUT", Path: "/v2/app/blobs/uploads/u2?digest=" + d2, Status: 400},  // refused: sent, not committed
		{Method: "POST", Path: "/v2/other/blobs/uploads/?digest=" + d2, Status: 201}, // monolithic
		{Method: "POST", Path: "/v2/b/blobs/uploads/?mount=sha256:11&from=app", Status: 201},
		{Method: "POST", Path: "/v2/c/blobs/uploads/?mount=sha256:11&from=zzz", Status: 202}, // not mounted: an upload starts
		{Method: "PUT", Path: "/v2/app/manifests/v1", Status: 201},
		// A chart repository's files (nginx's log).
		{Method: "GET", Path: "/index.yaml", Status: 200},
		{Method: "GET", Path: "/bench-1.0.0.tgz", Status: 200},
		{Method: "GET", Path: "/bench-1.1.0.tgz", Status: 404}, // not a download
	}
	got := countTraffic(reqs)
	want := traffic{blobs: 8, manifests: 2, tagLists: 1, other: 2, mounts: 1, manifestPuts: 1, indexes: 1, archives: 1,
		uploads: []string{"sha256:" + d1[9:], "sha256:" + d2[9:]}}
	if got.blobs != want.blobs || got.manifests != want.manifests || got.tagLists != want.tagLists ||
		got.other != want.other || got.mounts != want.mounts || !slices.Equal(got.uploads, want.uploads) ||
		got.manifestPuts != want.manifestPuts || got.indexes != want.indexes || got.archives != want.archives {
		t.Errorf("countTraffic =\n%+v, want\n%+v", got, want)
	}
}

// The configs the benchmark gives flux-mirror sync must be ones the
// project's own loader accepts, keeping every tag or version.
func TestFluxMirrorConfigLoads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		tool      syncTool
		src       string
		repos     []string
		referrers bool
	}{
		{"artifacts", fluxMirrorTool("flux-mirror", false), "127.0.0.1:5000", workloadRepos, false},
		{"artifacts with referrers", fluxMirrorTool("flux-mirror", true), "127.0.0.1:5000", workloadRepos, true},
		{"charts", fluxMirrorChartsTool("flux-mirror"), "http://127.0.0.1:5000", []string{chartName}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, raw := loadToolConfig(t, tc.tool, tc.src, tc.repos)
			if tc.repos[0] == chartName {
				if len(cfg.Charts) != 1 || len(cfg.Artifacts) != 0 {
					t.Fatalf("want one charts entry\n%s", raw)
				}
				c := cfg.Charts[0]
				if c.Name != chartName || c.Limit == nil || *c.Limit != 0 || c.Destination != "oci://127.0.0.1:5001/"+chartPath {
					t.Errorf("chart %+v does not keep every version under %s\n%s", c, chartPath, raw)
				}
				return
			}
			if len(cfg.Artifacts) != len(tc.repos) {
				t.Fatalf("%d artifacts entries, want %d\n%s", len(cfg.Artifacts), len(tc.repos), raw)
			}
			a := cfg.Artifacts[0]
			if sel := a.Selector; sel.Limit == nil || *sel.Limit != 0 || sel.SortBy != "alphabetical" {
				t.Errorf("selector %+v does not keep every tag", sel)
			}
			if a.IncludeReferrers != tc.referrers {
				t.Errorf("includeReferrers = %t, want %t", a.IncludeReferrers, tc.referrers)
			}
		})
	}
}

// loadToolConfig writes the tool's config and loads it as sync would.
func loadToolConfig(t *testing.T, tool syncTool, src string, repos []string) (*config.Config, []byte) {
	t.Helper()
	argv, err := tool.argv(src, "127.0.0.1:5001", t.TempDir(), repos, workloadTags)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(argv, "-f")
	if i < 0 || i+1 >= len(argv) {
		t.Fatalf("no -f in %q", argv)
	}
	raw, err := os.ReadFile(argv[i+1])
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(raw)
	if err != nil {
		t.Fatalf("config rejected: %v\n%s", err, raw)
	}
	return cfg, raw
}

// The ratios the targets lines print, from made-up samples: flux-mirror
// against the named peer and against its own run without referrers; a
// failed run is said below the table, not inside it.
func TestPrintTargets(t *testing.T) {
	t.Parallel()
	sample := func(ms int) []testenv.Sample { return []testenv.Sample{{Wall: time.Duration(ms) * time.Millisecond}} }
	fm := &toolRun{tool: fluxMirrorTool("fm", true), cold: sample(2000), warm: sample(100)}
	plain := &toolRun{tool: syncTool{name: "flux-mirror sync (no referrers)"}, cold: sample(1000), warm: sample(50)}
	oras := &toolRun{tool: syncTool{name: orasRecursive}, cold: sample(4000), warm: sample(150)}
	broken := &toolRun{tool: syncTool{name: "regsync once (referrers, digestTags)"}, err: errors.New("copied\nnothing")}
	var out strings.Builder
	printReferrers(&out, &signed{workload: &workload{}}, fm, []*toolRun{fm, plain, oras, broken})
	for _, want := range []string{
		"cold wall <= 0.8x " + orasRecursive + ": 0.50x, met",
		"warm wall <= 0.5x " + orasRecursive + ": 0.67x, NOT met",
		"includeReferrers costs 2.00x cold and 2.00x warm",
		"regsync once (referrers, digestTags): failed: copied nothing",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}

	out.Reset()
	fm = &toolRun{tool: fluxMirrorChartsTool("fm"), cold: sample(1000), warm: sample(100)}
	loop := &toolRun{tool: syncTool{name: issueLoop}, cold: sample(4000), warm: sample(3000)}
	check := &toolRun{tool: syncTool{name: "helm check"}, cold: sample(5000), warm: sample(1000)}
	printCharts(&out, &chartRepo{}, fm, []*toolRun{fm, loop, check})
	for _, want := range []string{
		"cold wall <= 0.8x " + issueLoop + ": 0.25x, met",
		"warm wall <= 0.5x helm check: 0.10x, met",
		"against the issue's loop (" + issueLoop + "): 0.25x cold, 0.03x warm",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}
