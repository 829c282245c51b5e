package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

const mib = 1 << 20

// The workload of issue 8: repositories × tags, each tag a 2-platform
// index; per platform a base layer shared by every repository, a layer per
// repository and a layer per tag (112 MiB of distinct layers).
var (
	workloadRepos = []string{"bench/app-0", "bench/app-1", "bench/app-2", "bench/app-3", "bench/app-4", "bench/app-5"}
	workloadTags  = []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"}
	platforms     = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
)

const (
	baseLayerSize = 8 * mib
	repoLayerSize = 4 * mib
	tagLayerSize  = 1 * mib
	bigLayerSize  = 1 << 30
	bigRepo       = "bench/big"
	bigTag        = "v1"
)

// randomLayer is a layer of size pseudo-random bytes from seed, produced as
// it is read, so that a 1 GiB layer never sits in memory. Random data does
// not compress, so it is stored uncompressed: digest and diff ID are equal.
type randomLayer struct {
	seed   uint64
	size   int64
	digest v1.Hash
}

func newRandomLayer(seed uint64, size int64) (*randomLayer, error) {
	l := &randomLayer{seed: seed, size: size}
	h := sha256.New()
	if _, err := io.Copy(h, l.reader()); err != nil {
		return nil, err
	}
	l.digest = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	return l, nil
}

func (l *randomLayer) reader() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], l.seed)
	return io.LimitReader(rand.NewChaCha8(key), l.size)
}

func (l *randomLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *randomLayer) DiffID() (v1.Hash, error)            { return l.digest, nil }
func (l *randomLayer) Size() (int64, error)                { return l.size, nil }
func (l *randomLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (l *randomLayer) Compressed() (io.ReadCloser, error)  { return io.NopCloser(l.reader()), nil }
func (l *randomLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(l.reader()), nil
}

// rawIndex is an index manifest pushed byte for byte. go-containerregistry's
// mutate.AppendManifests gives each descriptor an artifactType, and skopeo
// refuses to keep the digest of such an index, so the index is written here.
type rawIndex struct{ b []byte }

func (r rawIndex) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// workload is what was pushed to the source: the index digest of every
// repo:tag and the size of every distinct blob (layers and configs).
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

// pushWorkload pushes the workload to the registry at host, a few
// repositories at a time.
func pushWorkload(ctx context.Context, host string) (*workload, error) {
	w := &workload{index: map[string]v1.Hash{}, blobs: map[v1.Hash]int64{}}
	bases := make([]*randomLayer, len(platforms))
	for p := range platforms {
		l, err := newRandomLayer(uint64(1000+p), baseLayerSize)
		if err != nil {
			return nil, err
		}
		bases[p] = l
	}
	type pushed struct {
		key   string
		index v1.Hash
		blobs map[v1.Hash]int64
	}
	results := make([]pushed, len(workloadRepos)*len(workloadTags))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(1)
	for r, repo := range workloadRepos {
		for t, tag := range workloadTags {
			i := r*len(workloadTags) + t
			g.Go(func() error {
				seeds := func(p int) (uint64, uint64) { return uint64(2000 + 10*r + p), uint64(3000 + 100*r + 10*t + p) }
				d, blobs, err := pushIndex(ctx, host+"/"+repo+":"+tag, bases, seeds)
				results[i] = pushed{repo + ":" + tag, d, blobs}
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("push workload: %w", err)
	}
	for _, p := range results {
		w.index[p.key] = p.index
		for d, s := range p.blobs {
			w.blobs[d] = s
		}
	}
	return w, nil
}

// pushIndex pushes one image per platform (base, repository and tag layers)
// and the index that names them, tagged last.
func pushIndex(ctx context.Context, ref string, bases []*randomLayer, seeds func(p int) (repo, tag uint64)) (v1.Hash, map[v1.Hash]int64, error) {
	tagRef, err := name.NewTag(ref)
	if err != nil {
		return v1.Hash{}, nil, err
	}
	blobs := map[v1.Hash]int64{}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for p, plat := range platforms {
		repoSeed, tagSeed := seeds(p)
		layers := []*randomLayer{bases[p]}
		for _, s := range []struct {
			seed uint64
			size int64
		}{{repoSeed, repoLayerSize}, {tagSeed, tagLayerSize}} {
			l, err := newRandomLayer(s.seed, s.size)
			if err != nil {
				return v1.Hash{}, nil, err
			}
			layers = append(layers, l)
		}
		img, err := platformImage(plat, layers)
		if err != nil {
			return v1.Hash{}, nil, err
		}
		desc, err := pushImage(ctx, tagRef.Context(), img, blobs)
		if err != nil {
			return v1.Hash{}, nil, err
		}
		desc.Platform = &plat
		idx.Manifests = append(idx.Manifests, *desc)
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return v1.Hash{}, nil, err
	}
	if err := remote.Put(tagRef, rawIndex{b}, remote.WithContext(ctx)); err != nil {
		return v1.Hash{}, nil, err
	}
	d, _, err := v1.SHA256(bytes.NewReader(b))
	return d, blobs, err
}

// platformImage is an OCI image of layers for plat.
func platformImage(plat v1.Platform, layers []*randomLayer) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range layers {
		var err error
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = plat.OS, plat.Architecture
	return mutate.ConfigFile(img, cf)
}

// pushImage pushes img by digest to repo and records its blobs' sizes.
func pushImage(ctx context.Context, repo name.Repository, img v1.Image, blobs map[v1.Hash]int64) (*v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if err := remote.Write(repo.Digest(d.String()), img, remote.WithContext(ctx)); err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	blobs[m.Config.Digest] = m.Config.Size
	for _, l := range m.Layers {
		blobs[l.Digest] = l.Size
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	return &v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d}, nil
}

// pushBig pushes bigRepo:bigTag, one image with a single 1 GiB layer,
// streamed from the generator.
func pushBig(ctx context.Context, host string) (v1.Hash, error) {
	l, err := newRandomLayer(9000, bigLayerSize)
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := platformImage(platforms[0], []*randomLayer{l})
	if err != nil {
		return v1.Hash{}, err
	}
	ref, err := name.NewTag(host + "/" + bigRepo + ":" + bigTag)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, err)
	}
	return img.Digest()
}
