package syncbench

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

const mib = 1 << 20

// Issue 8's workload: repositories × tags, each tag a 2-platform index; per
// platform a base layer shared by every repository, a layer per repository
// and a layer per tag: 112 MiB of distinct layers.
var (
	workloadRepos = []string{"bench/app-0", "bench/app-1", "bench/app-2", "bench/app-3", "bench/app-4", "bench/app-5"}
	workloadTags  = []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"}
	platforms     = []string{"linux/amd64", "linux/arm64"}
)

const (
	baseLayerSize = 8 * mib
	repoLayerSize = 4 * mib
	tagLayerSize  = 1 * mib
	bigLayerSize  = 1 << 30
	bigRepo       = "bench/big"
	bigTag        = "v1"
)

// workload is what was pushed to the source: the index digest of every
// repo:tag and the size of every distinct blob (layers and image configs;
// manifests are not blobs on the wire).
type workload struct {
	index map[string]v1.Hash // "repo:tag" -> index digest
	blobs map[v1.Hash]int64
}

func (w *workload) distinctBytes() int64 {
	var n int64
	for _, s := range w.blobs {
		n += s
	}
	return n
}

// pushWorkload pushes the workload to the registry at host, one index at a
// time (testenv's push helpers fail the benchmark, which only its own
// goroutine may do), and reads back what it pushed.
func pushWorkload(b *testing.B, host string) *workload {
	w := &workload{index: map[string]v1.Hash{}, blobs: map[v1.Hash]int64{}}
	var bases []testenv.Blob
	for p := range platforms {
		bases = append(bases, testenv.NewBlob(b, uint64(1000+p), baseLayerSize))
	}
	for r, repo := range workloadRepos {
		var repoLayers []testenv.Blob
		for p := range platforms {
			repoLayers = append(repoLayers, testenv.NewBlob(b, uint64(2000+10*r+p), repoLayerSize))
		}
		for t, tag := range workloadTags {
			var imgs []testenv.ImageSpec
			for p, plat := range platforms {
				tagLayer := testenv.NewBlob(b, uint64(3000+100*r+10*t+p), tagLayerSize)
				imgs = append(imgs, testenv.ImageSpec{Platform: plat, Layers: []testenv.Blob{bases[p], repoLayers[p], tagLayer}})
			}
			pushed := testenv.PushIndex(b, host, repo, tag, imgs...)
			w.index[repo+":"+tag] = pushed.Digest
			recordBlobs(b, host+"/"+repo+":"+tag, w.blobs)
		}
	}
	return w
}

// recordBlobs adds the config and layers of every image of the index at
// ref to blobs, as the registry serves them.
func recordBlobs(b *testing.B, ref string, blobs map[v1.Hash]int64) {
	r, err := name.ParseReference(ref)
	if err != nil {
		b.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		b.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			b.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			b.Fatal(err)
		}
		blobs[m.Config.Digest] = m.Config.Size
		for _, l := range m.Layers {
			blobs[l.Digest] = l.Size
		}
	}
}

// pushBig pushes bigRepo:bigTag, one image with a single 1 GiB layer that
// is generated as it is sent, and returns its digest.
func pushBig(b *testing.B, host string) v1.Hash {
	layer := testenv.NewBlob(b, 9000, bigLayerSize)
	return testenv.PushImage(b, host, bigRepo, bigTag, testenv.ImageSpec{Platform: platforms[0], Layers: []testenv.Blob{layer}}).Digest
}

// verify is nil when every repo:tag at the registry dst has the source's
// index digest.
func (w *workload) verify(dst string) error {
	for key, want := range w.index {
		if err := sameDigest(dst+"/"+key, want); err != nil {
			return err
		}
	}
	return nil
}

// sameDigest is nil when ref resolves to want.
func sameDigest(ref string, want v1.Hash) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	d, err := remote.Head(r)
	if err != nil {
		return err
	}
	if d.Digest != want {
		return fmt.Errorf("%s is %s, the source has %s", ref, d.Digest, want)
	}
	return nil
}
