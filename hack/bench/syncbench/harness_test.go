package syncbench

import (
	"os"
	"slices"
	"testing"

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
	}
	got := countTraffic(reqs)
	want := traffic{blobs: 8, manifests: 2, tagLists: 1, other: 1, mounts: 1,
		uploads: []string{"sha256:" + d1[9:], "sha256:" + d2[9:]}}
	if got.blobs != want.blobs || got.manifests != want.manifests || got.tagLists != want.tagLists ||
		got.other != want.other || got.mounts != want.mounts || !slices.Equal(got.uploads, want.uploads) {
		t.Errorf("countTraffic =\n%+v, want\n%+v", got, want)
	}
}

// The config the benchmark gives flux-mirror sync must be one the
// project's own loader accepts, selecting every tag.
func TestFluxMirrorConfigLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	argv, err := fluxMirrorTool("flux-mirror", false).argv("127.0.0.1:5000", "127.0.0.1:5001", dir, workloadRepos, workloadTags)
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
	cfg, err := config.Decode(raw)
	if err == nil {
		err = config.Validate(cfg)
	}
	if err != nil {
		t.Fatalf("config rejected: %v\n%s", err, raw)
	}
	if len(cfg.Artifacts) != len(workloadRepos) {
		t.Fatalf("%d artifacts entries, want %d", len(cfg.Artifacts), len(workloadRepos))
	}
	sel := cfg.Artifacts[0].Selector
	if sel.Limit == nil || *sel.Limit != 0 || sel.SortBy != "alphabetical" {
		t.Errorf("selector %+v does not keep every tag", sel)
	}
}
