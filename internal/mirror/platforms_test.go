package mirror_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/selector"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// threePlatforms are the children of the test index, in its order.
var threePlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}

// pushThreePlatforms pushes a 3-platform index tagged v1 to host/repo, each
// child with a layer of its own, and returns the index's digest and the
// layer of each platform.
func pushThreePlatforms(t *testing.T, host, repo string) (v1.Hash, map[string]testenv.Blob) {
	t.Helper()
	layers := map[string]testenv.Blob{}
	var imgs []testenv.ImageSpec
	for i, p := range threePlatforms {
		layers[p] = testenv.NewBlob(t, 500+uint64(i), 8192)
		imgs = append(imgs, testenv.ImageSpec{Platform: p, Layers: []testenv.Blob{layers[p]}})
	}
	return testenv.PushIndex(t, host, repo, "v1", imgs...).Digest, layers
}

// platforms parses os/arch[/variant] strings.
func platforms(t *testing.T, ps ...string) []v1.Platform {
	t.Helper()
	out := make([]v1.Platform, len(ps))
	for i, p := range ps {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = *pl
	}
	return out
}

// index reads the index at ref, its raw bytes and parsed.
func index(t *testing.T, ref string) ([]byte, *v1.IndexManifest) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatalf("%s is not an index: %v", ref, err)
	}
	return desc.Manifest, im
}

// oneTag runs one entry and returns its only tag's result.
func oneTag(t *testing.T, e mirror.Entry) mirror.TagResult {
	t.Helper()
	return onlyTag(t, run(t, []mirror.Entry{e}))
}

// TestPlatformsFilterAnIndex: an entry naming linux/arm64 of a 3-platform
// index copies that child only and puts a 1-child index at the tag; a
// second run is skipped without moving a blob; naming another platform
// later drifts, or overwrites with overwrite.
func TestPlatformsFilterAnIndex(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	srcDigest, layers := pushThreePlatforms(t, src.Host, "app")
	srcRaw, srcIdx := index(t, src.Host+"/app:v1")
	e := mirror.Entry{Source: src.Host + "/app", Destination: dst.Host + "/app", Platforms: platforms(t, "linux/arm64")}

	tag := oneTag(t, e)
	if tag.Status != mirror.StatusCopied {
		t.Fatalf("status %s (%v), want copied", tag.Status, tag.Err)
	}
	if tag.SourceDigest != srcDigest.String() || tag.Digest == srcDigest.String() {
		t.Errorf("digest %s, source digest %s; want a new index's digest and the source's %s", tag.Digest, tag.SourceDigest, srcDigest)
	}
	if got := digestOf(t, dst.Host, "app", "v1"); got != tag.Digest {
		t.Errorf("destination tag holds %s, want the reported %s", got, tag.Digest)
	}

	// The new index is the source's with one child, that child's
	// descriptor unchanged.
	dstRaw, dstIdx := index(t, dst.Host+"/app:v1")
	if len(dstIdx.Manifests) != 1 || !equalJSON(t, dstIdx.Manifests[0], srcIdx.Manifests[1]) {
		t.Fatalf("destination index children %+v, want only the source's linux/arm64 %+v", dstIdx.Manifests, srcIdx.Manifests[1])
	}
	if dstIdx.MediaType != srcIdx.MediaType || dstIdx.SchemaVersion != 2 {
		t.Errorf("destination index %s v%d, want %s v2", dstIdx.MediaType, dstIdx.SchemaVersion, srcIdx.MediaType)
	}
	if d, _, _ := v1.SHA256(bytes.NewReader(dstRaw)); d.String() != tag.Digest {
		t.Errorf("destination index bytes digest %s, want %s", d, tag.Digest)
	}
	if !bytes.Contains(srcRaw, mustJSON(t, srcIdx.Manifests[1])) || !bytes.Contains(dstRaw, mustJSON(t, srcIdx.Manifests[1])) {
		t.Errorf("the child's descriptor is not the source's, byte for byte:\n%s\n%s", srcRaw, dstRaw)
	}
	wantCraneChildren(t, dst.Host+"/app:v1", srcIdx.Manifests[1].Digest.String())

	// Only the chosen platform's blobs reached the destination.
	blobs := dst.Blobs(t)
	for p, l := range layers {
		if has := slices.Contains(blobs, l.Digest.String()); has != (p == "linux/arm64") {
			t.Errorf("destination holds the %s layer: %v", p, has)
		}
	}
	for i, c := range srcIdx.Manifests {
		if has := slices.Contains(blobs, c.Digest.String()); has != (i == 1) {
			t.Errorf("destination holds the %s manifest: %v", c.Platform, has)
		}
	}
	if slices.Contains(blobs, srcDigest.String()) {
		t.Errorf("destination holds the source index %s", srcDigest)
	}

	// A second run finds it up to date and writes nothing.
	before := len(dst.AccessLog(t))
	if again := oneTag(t, e); again.Status != mirror.StatusSkipped || again.Digest != tag.Digest {
		t.Errorf("second run: %s %s (%v), want skipped %s", again.Status, again.Digest, again.Err, tag.Digest)
	}
	later := dst.AccessLog(t)[before:]
	if up, mounts := testenv.Uploads(later); up+mounts != 0 || testenv.CountRequests(later, "PUT", "", 0) != 0 {
		t.Errorf("second run wrote to the destination: %v", later)
	}

	// Another platform named later gives another index: drifted, unless
	// overwrite.
	e.Platforms = platforms(t, "linux/arm64", "linux/amd64")
	drift := oneTag(t, e)
	if drift.Status != mirror.StatusDrifted || drift.DestinationDigest != tag.Digest {
		t.Errorf("with a platform added: %s (destination %s), want drifted from %s", drift.Status, drift.DestinationDigest, tag.Digest)
	}
	e.Overwrite = true
	over := oneTag(t, e)
	if over.Status != mirror.StatusOverwritten || over.Digest != drift.Digest {
		t.Errorf("with overwrite: %s %s (%v), want overwritten %s", over.Status, over.Digest, over.Err, drift.Digest)
	}
	// The children keep the source's order, not the entry's.
	wantCraneChildren(t, dst.Host+"/app:v1", srcIdx.Manifests[0].Digest.String(), srcIdx.Manifests[1].Digest.String())
}

// TestPlatformsMatching: a platform without a variant takes every variant;
// naming every platform keeps the source index as it is; a platform the
// source lacks fails the tag at once, naming it and those the source has.
func TestPlatformsMatching(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	srcDigest, _ := pushThreePlatforms(t, src.Host, "app")
	_, srcIdx := index(t, src.Host+"/app:v1")
	entry := func(repo string, ps ...string) mirror.Entry {
		return mirror.Entry{Source: src.Host + "/app", Destination: dst.Host + "/" + repo, Platforms: platforms(t, ps...)}
	}

	t.Run("no variant takes every variant", func(t *testing.T) {
		if tag := oneTag(t, entry("arm", "linux/arm")); tag.Status != mirror.StatusCopied {
			t.Fatalf("status %s (%v)", tag.Status, tag.Err)
		}
		wantCraneChildren(t, dst.Host+"/arm:v1", srcIdx.Manifests[2].Digest.String())
	})
	t.Run("dry run", func(t *testing.T) {
		tag := onlyTag(t, run(t, []mirror.Entry{entry("dry", "linux/arm64")}, func(o *mirror.Options) { o.DryRun = true }))
		if tag.Status != mirror.StatusWouldCopy || tag.SourceDigest != srcDigest.String() || tag.Digest == srcDigest.String() {
			t.Fatalf("%s %s (source digest %q, %v), want would-copy of a new index", tag.Status, tag.Digest, tag.SourceDigest, tag.Err)
		}
		if got := digestOf(t, dst.Host, "dry", "v1"); got != "" {
			t.Errorf("a dry run wrote %s", got)
		}
	})
	t.Run("every platform keeps the index", func(t *testing.T) {
		before := len(src.AccessLog(t))
		tag := oneTag(t, entry("all", "linux/arm/v7", "linux/amd64", "linux/arm64"))
		if tag.Status != mirror.StatusCopied || tag.Digest != srcDigest.String() || tag.SourceDigest != "" {
			t.Fatalf("%s %s (source digest %q, %v), want copied %s unchanged", tag.Status, tag.Digest, tag.SourceDigest, tag.Err, srcDigest)
		}
		// The index read to choose platforms is the one copied: read once.
		gets := 0
		for _, l := range src.AccessLog(t)[before:] {
			if l.Method == http.MethodGet && strings.HasSuffix(l.Path, "/manifests/"+srcDigest.String()) {
				gets++
			}
		}
		if gets != 1 {
			t.Errorf("the source index was read %d times, want once", gets)
		}
		if got := digestOf(t, dst.Host, "all", "v1"); got != srcDigest.String() {
			t.Errorf("destination holds %s, want the source index %s", got, srcDigest)
		}
	})
	t.Run("missing platform", func(t *testing.T) {
		tag := oneTag(t, entry("missing", "linux/s390x", "linux/arm64", "linux/ppc64le"))
		if tag.Status != mirror.StatusFailed || tag.Err == nil || tag.Attempts != 1 {
			t.Fatalf("status %s after %d attempts (%v), want failed after 1", tag.Status, tag.Attempts, tag.Err)
		}
		for _, want := range []string{"has no linux/s390x, linux/ppc64le: its platforms are linux/amd64, linux/arm64, linux/arm/v7"} {
			if !strings.Contains(tag.Err.Error(), want) {
				t.Errorf("error %q does not say %q", tag.Err, want)
			}
		}
		if got := digestOf(t, dst.Host, "missing", "v1"); got != "" {
			t.Errorf("a failed tag wrote %s", got)
		}
	})
}

// TestPlatformsSingleImage: a single image whose config names a listed
// platform is copied byte for byte; another platform fails the tag.
func TestPlatformsSingleImage(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	img := testenv.PushImage(t, src.Host, "single", "v1", testenv.ImageSpec{Platform: "linux/arm/v7", Layers: []testenv.Blob{testenv.NewBlob(t, 9, 4096)}})

	e := mirror.Entry{Source: src.Host + "/single", Destination: dst.Host + "/single", Platforms: platforms(t, "linux/amd64", "linux/arm/v7")}
	tag := oneTag(t, e)
	if tag.Status != mirror.StatusCopied || tag.Digest != img.Digest.String() || tag.SourceDigest != "" {
		t.Fatalf("%s %s (%v), want copied %s", tag.Status, tag.Digest, tag.Err, img.Digest)
	}
	if got := digestOf(t, dst.Host, "single", "v1"); got != img.Digest.String() {
		t.Errorf("destination holds %s, want %s", got, img.Digest)
	}

	e.Destination, e.Platforms = dst.Host+"/other", platforms(t, "linux/arm64")
	tag = oneTag(t, e)
	if tag.Status != mirror.StatusFailed || tag.Err == nil || !strings.Contains(tag.Err.Error(), "single-platform image for linux/arm/v7, none of the entry's platforms (linux/arm64)") {
		t.Fatalf("%s (%v), want failed naming both platforms", tag.Status, tag.Err)
	}
	if got := digestOf(t, dst.Host, "other", "v1"); got != "" {
		t.Errorf("a failed tag wrote %s", got)
	}
}

// TestPlatformsReferrers: with a new index, the chosen child's referrers
// come along; the source index's own referrers, which name a digest the
// destination never holds, do not.
func TestPlatformsReferrers(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	srcDigest, _ := pushThreePlatforms(t, src.Host, "app")
	_, srcIdx := index(t, src.Host+"/app:v1")
	arm := srcIdx.Manifests[1].Digest
	childSBOM := testenv.AttachSBOM(t, src.Host+"/app@"+arm.String(), "arm64")
	indexSBOM := testenv.AttachSBOM(t, src.Host+"/app@"+srcDigest.String(), "index")
	amdSBOM := testenv.AttachSBOM(t, src.Host+"/app@"+srcIdx.Manifests[0].Digest.String(), "amd64")

	e := mirror.Entry{Source: src.Host + "/app", Destination: dst.Host + "/app", Selector: exactTag(t, "v1"),
		IncludeReferrers: true, Platforms: platforms(t, "linux/arm64")}
	tag := oneTag(t, e)
	if tag.Status != mirror.StatusCopied {
		t.Fatalf("status %s (%v)", tag.Status, tag.Err)
	}
	if len(tag.Referrers) != 1 || tag.Referrers[0].Digest != childSBOM || tag.Referrers[0].Status != mirror.StatusCopied {
		t.Fatalf("referrer rows %+v, want the arm64 child's SBOM %s copied", tag.Referrers, childSBOM)
	}
	got := testenv.Discover(t, dst.Host+"/app@"+arm.String())
	if len(got) != 1 || got[0].Digest != childSBOM {
		t.Errorf("destination referrers of the arm64 child: %+v, want %s", got, childSBOM)
	}
	blobs := dst.Blobs(t)
	for _, d := range []string{indexSBOM, amdSBOM} {
		if slices.Contains(blobs, d) {
			t.Errorf("the destination holds %s, a referrer of a manifest it was not asked for", d)
		}
	}
	if again := oneTag(t, e); again.Status != mirror.StatusSkipped || len(again.Referrers) != 1 || again.Referrers[0].Status != mirror.StatusSkipped {
		t.Errorf("second run: %s, referrers %+v; want skipped with the SBOM skipped", again.Status, again.Referrers)
	}
}

// exactTag selects tag alone, so that referrers tags are not mirrored as
// tags of their own.
func exactTag(t *testing.T, tag string) *selector.Selector {
	t.Helper()
	s, err := selector.Compile(selector.Spec{Pattern: "^" + regexp.QuoteMeta(tag) + "$", SortBy: selector.SortAlphabetical})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantCraneChildren checks with the real crane that ref is an index of
// exactly the children digests, in that order.
func wantCraneChildren(t *testing.T, ref string, digests ...string) {
	t.Helper()
	out, err := testenv.RunClient(t, testenv.Tool(t, "crane"), t.TempDir(), nil, "manifest", ref)
	if err != nil {
		t.Fatalf("crane manifest %s: %v\n%s", ref, err, out)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal([]byte(out), &im); err != nil {
		t.Fatalf("crane manifest %s: %v\n%s", ref, err, out)
	}
	if got := hashes(im.Manifests); !slices.Equal(got, digests) {
		t.Errorf("crane manifest %s lists %v, want %v", ref, got, digests)
	}
}

// equalJSON says whether a and b marshal alike.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return bytes.Equal(mustJSON(t, a), mustJSON(t, b))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
