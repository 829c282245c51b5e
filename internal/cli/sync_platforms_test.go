package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestSyncPlatforms: a v1beta2 entry with platforms mirrors one child of a
// 3-platform index; the report gives the new index's digest and the
// source's; a re-run is skipped; another platform drifts; a platform the
// source lacks fails its tag with a message naming it, and bad platforms
// are refused with the config.
func TestSyncPlatforms(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	var imgs []testenv.ImageSpec
	for i, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		imgs = append(imgs, testenv.ImageSpec{Platform: p, Layers: []testenv.Blob{testenv.NewBlob(t, 40+uint64(i), 2048)}})
	}
	srcIdx := testenv.PushIndex(t, src.Host, "app", "1.0.0", imgs...)
	config := func(platforms string) string {
		return writeFile(t, t.TempDir(), "mirror.yaml", headerV2+"artifacts:\n- source: "+src.Host+"/app\n  destination: "+dst.Host+"/app\n"+
			"  selector:\n    semver: '>=1.0.0'\n  platforms: ["+platforms+"]\n")
	}
	cfg := config("linux/arm64")

	var digest string
	for i, want := range []string{v1beta2.StatusCopied, v1beta2.StatusSkipped} {
		r := run(t, nil, "sync", cfg, "-o", "json")
		if r.code != 0 {
			t.Fatalf("run %d: exit status %d\n%s%s", i+1, r.code, r.stdout, r.stderr)
		}
		tag := checkReport(t, []byte(r.stdout)).Report.Results[0].Tags[0]
		if tag.Status != want || tag.SourceDigest != srcIdx.Digest.String() || tag.Digest == srcIdx.Digest.String() {
			t.Fatalf("run %d: %+v, want %s with the source's digest as sourceDigest", i+1, tag, want)
		}
		digest = tag.Digest
	}
	ref, err := name.ParseReference(dst.Host + "/app:1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil || desc.Digest.String() != digest || len(idx.Manifests) != 1 || idx.Manifests[0].Platform.String() != "linux/arm64" {
		t.Fatalf("destination %s holds %s (%v): %s; want the reported %s with linux/arm64 alone", ref, desc.Digest, err, desc.Manifest, digest)
	}

	// Another platform later: a new index, so the tag drifted, and the
	// warning says where its digest comes from.
	r := run(t, nil, "sync", config("linux/arm64, linux/amd64"))
	if r.code != 2 || !strings.Contains(r.stderr, "(the index of the entry's platforms, made from "+srcIdx.Digest.String()+"), the destination") ||
		!strings.Contains(r.stderr, "has "+digest) {
		t.Errorf("a platform added: exit %d, want 2 and a drift warning naming both indexes and the source's:\n%s", r.code, r.stderr)
	}

	r = run(t, nil, "sync", config("linux/arm64, linux/s390x"), "--retries", "0")
	if r.code != 1 || !strings.Contains(r.stdout, "has no linux/s390x: its platforms are linux/amd64, linux/arm64, linux/arm/v7") {
		t.Errorf("a missing platform: exit %d, want 1 and a line naming it and those the source has:\n%s", r.code, r.stdout)
	}

	r = run(t, nil, "sync", config("linux/arm64, linux"))
	if lines := failureLines(r.stderr); r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], `artifacts[0].platforms[1]: "linux" is not a platform`) {
		t.Errorf("a bad platform: exit %d, ✗ lines %q; want 1 naming artifacts[0].platforms[1]", r.code, lines)
	}
}
