package mirror_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// workload pushes repos repositories of tags tags each, every tag a
// 2-platform index; all repositories share one base layer.
func workload(t *testing.T, host string, repos, tags int) []string {
	t.Helper()
	base := testenv.NewBlob(t, 1, 64<<10)
	var names []string
	for r := range repos {
		repoLayer := testenv.NewBlob(t, uint64(100+r), 32<<10)
		name := fmt.Sprintf("app%d", r)
		names = append(names, name)
		for g := range tags {
			tagLayer := func(p int) testenv.Blob { return testenv.NewBlob(t, uint64(10000+r*100+g*10+p), 8<<10) }
			testenv.PushIndex(t, host, name, fmt.Sprintf("1.0.%d", g),
				testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{base, repoLayer, tagLayer(0)}},
				testenv.ImageSpec{Platform: "linux/arm64", Layers: []testenv.Blob{base, repoLayer, tagLayer(1)}})
		}
	}
	return names
}

func entries(src, dst string, repos []string) []mirror.Entry {
	var out []mirror.Entry
	for _, r := range repos {
		out = append(out, mirror.Entry{Source: src + "/" + r, Destination: dst + "/" + r})
	}
	return out
}

func wantAll(t *testing.T, res []mirror.EntryResult, status string) {
	t.Helper()
	for _, e := range res {
		if e.Err != nil {
			t.Fatalf("%s: plan failed: %v", e.Source, e.Err)
		}
		for _, tag := range e.Tags {
			if tag.Status != status {
				t.Fatalf("%s:%s: %s (%v), want %s", e.Source, tag.Tag, tag.Status, tag.Err, status)
			}
		}
	}
}

// TestIndexCopiedWhole copies a 2-platform index and reads it back with
// crane, skopeo and oras: the same index digest and the same child
// digests as the source.
func TestIndexCopiedWhole(t *testing.T) {
	isolate(t)
	crane, oras := testenv.Tool(t, "crane"), testenv.Tool(t, "oras")
	skopeo := testenv.SystemTool(t, "skopeo", "skopeo")
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	want := testenv.PushIndex(t, src.Host, "app", "v1",
		testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{testenv.NewBlob(t, 1, 1<<20), testenv.NewBlob(t, 2, 4096)}},
		testenv.ImageSpec{Platform: "linux/arm64", Layers: []testenv.Blob{testenv.NewBlob(t, 1, 1<<20), testenv.NewBlob(t, 3, 4096)}})

	res := run(t, entries(src.Host, dst.Host, []string{"app"}))
	wantAll(t, res, mirror.StatusCopied)

	ref := dst.Host + "/app:v1"
	readers := map[string]func(ref string) []byte{
		"crane": func(ref string) []byte { return output(t, crane, "manifest", ref) },
		"skopeo": func(ref string) []byte {
			return output(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
		},
		"oras": func(ref string) []byte { return output(t, oras, "manifest", "fetch", "--plain-http", ref) },
	}
	for tool, read := range readers {
		raw := read(ref)
		if got := digest(raw); got != want.Digest.String() {
			t.Errorf("%s reads index digest %s, want %s", tool, got, want.Digest)
		}
		var idx v1.IndexManifest
		if err := json.Unmarshal(raw, &idx); err != nil || len(idx.Manifests) != 2 {
			t.Fatalf("%s: index %s: %v", tool, raw, err)
		}
		for _, child := range idx.Manifests {
			childRef := dst.Host + "/app@" + child.Digest.String()
			if got := digest(read(childRef)); got != child.Digest.String() {
				t.Errorf("%s reads %s as %s", tool, childRef, got)
			}
		}
	}
	// Every blob of the source, and nothing else, is at the destination.
	srcBlobs, dstBlobs := src.Blobs(t), dst.Blobs(t)
	slices.Sort(srcBlobs)
	slices.Sort(dstBlobs)
	if !slices.Equal(srcBlobs, dstBlobs) {
		t.Errorf("destination blobs %v, want the source's %v", dstBlobs, srcBlobs)
	}
}

// TestWarmRerun: a second run with nothing to do skips every tag and
// costs at most one manifest request per tag on each side plus one tag
// list per entry; no blob request, no manifest GET.
func TestWarmRerun(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	repos := workload(t, src.Host, 3, 2)
	wantAll(t, run(t, entries(src.Host, dst.Host, repos)), mirror.StatusCopied)

	srcMark, dstMark := len(src.AccessLog(t)), len(dst.AccessLog(t))
	wantAll(t, run(t, entries(src.Host, dst.Host, repos)), mirror.StatusSkipped)
	srcLog, dstLog := src.AccessLog(t)[srcMark:], dst.AccessLog(t)[dstMark:]

	tags, entries := 3*2, 3
	for _, side := range []struct {
		name  string
		log   []testenv.AccessLine
		lists int
	}{{"source", srcLog, entries}, {"destination", dstLog, 0}} {
		manifests := testenv.CountRequests(side.log, "", `/manifests/`, 0)
		gets := testenv.CountRequests(side.log, "GET", `/manifests/`, 0)
		blobs := testenv.CountRequests(side.log, "", `/blobs/`, 0)
		lists := testenv.CountRequests(side.log, "GET", `/tags/list`, 0)
		t.Logf("%s: %d manifest requests (%d GET), %d blob requests, %d tag lists, %d requests in all",
			side.name, manifests, gets, blobs, lists, len(side.log))
		if manifests > tags || gets != 0 || blobs != 0 || lists != side.lists {
			t.Errorf("%s: warm re-run made %d manifest requests (%d GET), %d blob requests and %d tag lists; want at most %d HEADs, no blob request, %d tag lists:\n%v",
				side.name, manifests, gets, blobs, lists, tags, side.lists, side.log)
		}
	}
}

// TestSharedBlobUploadedOnce: a base layer in every repository is
// uploaded to the destination registry once and mounted into the others.
func TestSharedBlobUploadedOnce(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	repos := workload(t, src.Host, 4, 3)
	wantAll(t, run(t, entries(src.Host, dst.Host, repos)), mirror.StatusCopied)

	log := dst.AccessLog(t)
	base := testenv.NewBlob(t, 1, 64<<10).Digest.String()
	baseUploads := testenv.CountRequests(log, "PUT", `/blobs/uploads/.*digest=`+strings.Replace(base, ":", "%3A", 1), 201)
	baseMounts := testenv.CountRequests(log, "POST", `\?.*mount=`+strings.Replace(base, ":", "%3A", 1), 201)
	uploads, mounts := testenv.Uploads(log)
	// The registry keeps manifests among its blobs; each manifest here is
	// distinct and written once.
	distinct := len(dst.Blobs(t)) - testenv.CountRequests(log, "PUT", `/manifests/`, 201)
	t.Logf("base layer: %d upload, %d mounts; all blobs: %d uploads, %d mounts, %d distinct", baseUploads, baseMounts, uploads, mounts, distinct)
	if baseUploads != 1 || baseMounts != len(repos)-1 {
		t.Errorf("base layer uploaded %d times and mounted %d times, want 1 and %d", baseUploads, baseMounts, len(repos)-1)
	}
	if uploads != distinct {
		t.Errorf("%d blob uploads for %d distinct blobs, want one each", uploads, distinct)
	}
}

func output(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr)
	}
	return out
}

func digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
