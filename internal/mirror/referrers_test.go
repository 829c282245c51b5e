package mirror_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/selector"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// semverTags selects every semver tag, so that the referrers tag
// (sha256-<hex>) and cosign's tags are never mirrored as tags of their own.
func semverTags(t *testing.T) *selector.Selector {
	t.Helper()
	s, err := selector.Compile(selector.Spec{Limit: 0})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signed pushes an image tagged tag to host/repo, attaches an SBOM with
// oras, signs it with cosign (the .sig tag) and, when attest is set, adds
// a cosign attestation (the .att tag). It returns the image's digest and
// the SBOM's.
func signed(t *testing.T, cos *testenv.Cosign, host, repo, tag string, seed uint64, attest bool) (img v1.Hash, sbom string) {
	t.Helper()
	img = testenv.PushImage(t, host, repo, tag, image(t, seed)).Digest
	ref := host + "/" + repo + "@" + img.String()
	sbom = testenv.AttachSBOM(t, ref, repo)
	cos.Sign(t, ref)
	if attest {
		cos.Attest(t, ref)
	}
	return img, sbom
}

// sigTag is cosign's signature tag of digest d.
func sigTag(d v1.Hash) string { return "sha256-" + d.Hex + ".sig" }

// attTag is cosign's attestation tag of digest d.
func attTag(d v1.Hash) string { return "sha256-" + d.Hex + ".att" }

// wantRows checks a tag's referrer rows: the OCI referrers by digest, then
// the .sig tag, then the .att tag when attStatus is set, each with the
// status given.
func wantRows(t *testing.T, tag mirror.TagResult, sboms map[string]string, img v1.Hash, sigStatus, attStatus string) {
	t.Helper()
	var got []string
	for _, r := range tag.Referrers {
		if r.Err != nil {
			t.Errorf("referrer %s %s failed: %v", r.Digest, r.Tag, r.Err)
		}
		if r.Tag != "" {
			got = append(got, r.Tag+" "+r.Status)
			continue
		}
		if r.ArtifactType != testenv.SBOMType {
			t.Errorf("referrer %s: artifact type %q, want %q", r.Digest, r.ArtifactType, testenv.SBOMType)
		}
		got = append(got, r.Digest+" "+r.Status)
	}
	var want []string
	for d, s := range sboms {
		want = append(want, d+" "+s)
	}
	slices.Sort(want) // the engine lists OCI referrers by digest
	want = append(want, sigTag(img)+" "+sigStatus)
	if attStatus != "" {
		want = append(want, attTag(img)+" "+attStatus)
	}
	if !slices.Equal(got, want) {
		t.Errorf("referrer rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestReferrersBetweenRegistryKinds mirrors an image with an SBOM referrer,
// a cosign signature and a cosign attestation between a registry with the
// OCI referrers API and registries without it (distribution v3, Debian's
// 2.8), both ways: clients find the SBOM and accept the signature and the
// attestation at the destination, each referrer has its row, a
// second run copies nothing, and a referrer added to an image already
// mirrored is copied while its tag stays skipped.
func TestReferrersBetweenRegistryKinds(t *testing.T) {
	isolate(t)
	cos := testenv.NewCosign(t)
	api := func(t *testing.T) string { return testenv.StartReferrersRegistry(t).Host }
	v3 := func(t *testing.T) string { return testenv.StartSyncRegistry(t).Host }
	debian := func(t *testing.T) string {
		return testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true}).Host
	}
	pairs := []struct {
		name     string
		src, dst func(*testing.T) string
	}{
		{"api to distribution v3", api, v3},
		{"distribution v3 to api", v3, api},
		{"distribution v3 to debian 2.8", v3, debian},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			src, dst := p.src(t), p.dst(t)
			img, sbom := signed(t, cos, src, "app", "1.0.0", 7, true)
			entry := mirror.Entry{Source: src + "/app", Destination: dst + "/app", Selector: semverTags(t), IncludeReferrers: true}

			tag := onlyTag(t, run(t, []mirror.Entry{entry}))
			if tag.Status != mirror.StatusCopied {
				t.Fatalf("status %q (%v), want copied", tag.Status, tag.Err)
			}
			wantRows(t, tag, map[string]string{sbom: mirror.StatusCopied}, img, mirror.StatusCopied, mirror.StatusCopied)
			ref := dst + "/app@" + img.String()
			if got := testenv.Discover(t, ref); len(got) != 1 || got[0].Digest != sbom || got[0].ArtifactType != testenv.SBOMType {
				t.Errorf("oras discover at the destination: %+v, want the SBOM %s", got, sbom)
			}
			if out, err := cos.Verify(t, dst+"/app:1.0.0"); err != nil {
				t.Errorf("cosign verify at the destination: %v\n%s", err, out)
			}
			if out, err := cos.VerifyAttestation(t, dst+"/app:1.0.0"); err != nil {
				t.Errorf("cosign verify-attestation at the destination: %v\n%s", err, out)
			}

			tag = onlyTag(t, run(t, []mirror.Entry{entry}))
			if tag.Status != mirror.StatusSkipped {
				t.Fatalf("second run: status %q (%v), want skipped", tag.Status, tag.Err)
			}
			wantRows(t, tag, map[string]string{sbom: mirror.StatusSkipped}, img, mirror.StatusSkipped, mirror.StatusSkipped)

			later := testenv.AttachSBOM(t, src+"/app@"+img.String(), "later")
			tag = onlyTag(t, run(t, []mirror.Entry{entry}))
			if tag.Status != mirror.StatusSkipped {
				t.Fatalf("third run: status %q (%v), want skipped", tag.Status, tag.Err)
			}
			wantRows(t, tag, map[string]string{sbom: mirror.StatusSkipped, later: mirror.StatusCopied}, img, mirror.StatusSkipped, mirror.StatusSkipped)
			if got := testenv.Discover(t, ref); len(got) != 2 {
				t.Errorf("oras discover after the later SBOM: %+v, want both", got)
			}
		})
	}
}

// onlyTag returns the one tag result of a one-entry run.
func onlyTag(t *testing.T, res []mirror.EntryResult) mirror.TagResult {
	t.Helper()
	if len(res) != 1 || res[0].Err != nil || len(res[0].Tags) != 1 {
		t.Fatalf("results: %+v", res)
	}
	return res[0].Tags[0]
}

// TestReferrerFailureFailsItsTag: a dry run reports would-copy rows and
// writes nothing; a referrer whose blob is gone from the source fails its
// tag, which is then not written at the destination; an image nothing
// refers to gets no rows.
func TestReferrerFailureFailsItsTag(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	cos := testenv.NewCosign(t)
	img, sbom := signed(t, cos, src.Host, "app", "1.0.0", 11, false)
	testenv.PushImage(t, src.Host, "plain", "1.0.0", image(t, 12))
	entries := []mirror.Entry{
		{Source: src.Host + "/app", Destination: dst.Host + "/app", Selector: semverTags(t), IncludeReferrers: true},
		{Source: src.Host + "/plain", Destination: dst.Host + "/plain", Selector: semverTags(t), IncludeReferrers: true},
	}

	before := dst.Snapshot(t)
	res := run(t, entries, func(o *mirror.Options) { o.DryRun = true })
	tag := res[0].Tags[0]
	if tag.Status != mirror.StatusWouldCopy {
		t.Fatalf("dry run: status %q (%v), want would-copy", tag.Status, tag.Err)
	}
	wantRows(t, tag, map[string]string{sbom: mirror.StatusWouldCopy}, img, mirror.StatusWouldCopy, "")
	if after := dst.Snapshot(t); len(after) != len(before) {
		t.Errorf("the dry run wrote to the destination:\n%s", diff(before, after))
	}

	removeBlob(t, src, layerOf(t, src.Host+"/app@"+sbom))
	res = run(t, entries)
	tag = res[0].Tags[0]
	if tag.Status != mirror.StatusFailed || tag.Err == nil || !strings.Contains(tag.Err.Error(), "referrer "+sbom) {
		t.Fatalf("status %q, err %v; want failed naming the referrer %s", tag.Status, tag.Err, sbom)
	}
	if len(tag.Referrers) == 0 || tag.Referrers[0].Digest != sbom || tag.Referrers[0].Status != mirror.StatusFailed {
		t.Errorf("referrer rows %+v, want the SBOM's failed first", tag.Referrers)
	}
	if got := digestOf(t, dst.Host, "app", "1.0.0"); got != "" {
		t.Errorf("the destination tag was written (%s) although a referrer failed", got)
	}
	if tag.Attempts != 1 {
		t.Errorf("a blob missing at the source was attempted %d times, want 1", tag.Attempts)
	}
	plain := res[1].Tags[0]
	if plain.Status != mirror.StatusCopied || len(plain.Referrers) != 0 {
		t.Errorf("image without referrers: status %q, rows %+v; want copied and none", plain.Status, plain.Referrers)
	}
}

// layerOf returns the digest of the only layer of the manifest at ref.
func layerOf(t *testing.T, ref string) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, remote.WithContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	mf, err := img.Manifest()
	if err != nil || len(mf.Layers) != 1 {
		t.Fatalf("manifest of %s: %v, %+v", ref, err, mf)
	}
	return mf.Layers[0].Digest
}

// removeBlob deletes a blob from a registry's storage behind its back.
func removeBlob(t *testing.T, r *testenv.SyncRegistry, d v1.Hash) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(r.BlobsDir(), "sha256", d.Hex[:2], d.Hex)); err != nil {
		t.Fatal(err)
	}
}

// TestReferrersOfASharedDigest: four referrers of one digest, written at
// once by each of two concurrent jobs (two tags of that digest), into a
// registry without the referrers API, where every referrer write reads,
// changes and puts back one referrers index: none is lost. (Without the
// engine's per-subject lock this loses referrers every run.)
func TestReferrersOfASharedDigest(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	img := testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 21)).Digest
	testenv.PushImage(t, src.Host, "app", "1.0.1", image(t, 21))
	var sboms []string
	for _, n := range []string{"a", "b", "c", "d"} {
		sboms = append(sboms, testenv.AttachSBOM(t, src.Host+"/app@"+img.String(), n))
	}
	res := run(t, []mirror.Entry{{Source: src.Host + "/app", Destination: dst.Host + "/app", Selector: semverTags(t), IncludeReferrers: true}})
	for _, tag := range res[0].Tags {
		if tag.Status != mirror.StatusCopied || len(tag.Referrers) != len(sboms) {
			t.Errorf("%s: status %q (%v), %d rows; want copied with %d", tag.Tag, tag.Status, tag.Err, len(tag.Referrers), len(sboms))
		}
	}
	var got []string
	for _, r := range testenv.Discover(t, dst.Host+"/app@"+img.String()) {
		got = append(got, r.Digest)
	}
	slices.Sort(got)
	slices.Sort(sboms)
	if !slices.Equal(got, sboms) {
		t.Errorf("referrers at the destination:\n%v\nwant:\n%v", got, sboms)
	}
}

// TestCosignTagDrift: a destination .sig tag holding other signatures
// drifts, with a drift event naming both digests as for a tag (the image
// itself is still copied), unless overwrite is set.
func TestCosignTagDrift(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	cos := testenv.NewCosign(t)
	img, sbom := signed(t, cos, src.Host, "app", "1.0.0", 31, false)
	other := testenv.PushImage(t, dst.Host, "app", sigTag(img), image(t, 32)).Digest
	entry := mirror.Entry{Source: src.Host + "/app", Destination: dst.Host + "/app", Selector: semverTags(t), IncludeReferrers: true}

	var mu sync.Mutex
	var drifts []string
	tag := onlyTag(t, run(t, []mirror.Entry{entry}, func(o *mirror.Options) {
		o.Events = func(ev mirror.Event) {
			if ev.Kind == mirror.Drift {
				mu.Lock()
				defer mu.Unlock()
				drifts = append(drifts, ev.Tag+" "+ev.Result.Digest+" "+ev.Result.DestinationDigest)
			}
		}
	}))
	if tag.Status != mirror.StatusCopied {
		t.Fatalf("status %q (%v), want copied", tag.Status, tag.Err)
	}
	wantRows(t, tag, map[string]string{sbom: mirror.StatusCopied}, img, mirror.StatusDrifted, "")
	sig := tag.Referrers[len(tag.Referrers)-1]
	if sig.DestinationDigest != other.String() {
		t.Errorf("drifted .sig row names %q, want the destination's %s", sig.DestinationDigest, other)
	}
	if want := sigTag(img) + " " + sig.Digest + " " + other.String(); len(drifts) != 1 || drifts[0] != want {
		t.Errorf("drift events %q, want one: %q", drifts, want)
	}

	entry.Overwrite = true
	tag = onlyTag(t, run(t, []mirror.Entry{entry}))
	wantRows(t, tag, map[string]string{sbom: mirror.StatusSkipped}, img, mirror.StatusOverwritten, "")
	if out, err := cos.Verify(t, dst.Host+"/app:1.0.0"); err != nil {
		t.Errorf("cosign verify after the overwrite: %v\n%s", err, out)
	}
}

// TestBundleSignatureReferrer: a cosign signature made as a Sigstore
// bundle is an OCI referrer; mirrored either way between the two kinds of
// registry, cosign verify finds and accepts it at the destination.
func TestBundleSignatureReferrer(t *testing.T) {
	isolate(t)
	cos := testenv.NewCosign(t)
	api, v3 := testenv.StartReferrersRegistry(t).Host, testenv.StartSyncRegistry(t).Host
	for i, p := range [][2]string{{api, v3}, {v3, api}} {
		src, dst := p[0], p[1]
		repo := "bundle" + string(rune('a'+i))
		img := testenv.PushImage(t, src, repo, "1.0.0", image(t, 41)).Digest
		cos.SignBundle(t, src+"/"+repo+"@"+img.String())
		tag := onlyTag(t, run(t, []mirror.Entry{{Source: src + "/" + repo, Destination: dst + "/" + repo, Selector: semverTags(t), IncludeReferrers: true}}))
		if tag.Status != mirror.StatusCopied || len(tag.Referrers) != 1 || tag.Referrers[0].ArtifactType != testenv.BundleType ||
			tag.Referrers[0].Status != mirror.StatusCopied {
			t.Fatalf("%s to %s: status %q (%v), rows %+v; want copied with the bundle copied", src, dst, tag.Status, tag.Err, tag.Referrers)
		}
		if out, err := cos.Verify(t, dst+"/"+repo+":1.0.0"); err != nil {
			t.Errorf("%s to %s: cosign verify at the destination: %v\n%s", src, dst, err, out)
		}
	}
}
