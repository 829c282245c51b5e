package testenv

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SyncRegistry is a distribution v3 registry without authentication whose
// access log and storage tests read, to count what a sync did.
type SyncRegistry struct {
	*Registry
}

// StartSyncRegistry starts the registry peer with its access log on, a
// fixed http.secret and upload purging off. It stops when the test ends.
func StartSyncRegistry(t testing.TB) *SyncRegistry {
	t.Helper()
	return &SyncRegistry{Registry: StartRegistryWith(t, RegistryOptions{})}
}

// Storage is the registry's storage root.
func (r *SyncRegistry) Storage() string { return filepath.Join(r.Dir, "data") }

// BlobsDir holds the blobs, at sha256/<xx>/<hex>/data.
func (r *SyncRegistry) BlobsDir() string {
	return filepath.Join(r.Storage(), "docker", "registry", "v2", "blobs")
}

// Blobs returns the digests of the blobs in storage.
func (r *SyncRegistry) Blobs(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(r.BlobsDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return filepath.SkipDir
			}
			return err
		}
		if d.Name() == "data" && !d.IsDir() {
			out = append(out, "sha256:"+filepath.Base(filepath.Dir(p)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Snapshot maps every file and directory of the storage to its size and
// modification time, to compare before and after a run that must write
// nothing.
func (r *SyncRegistry) Snapshot(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(r.Storage(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == r.Storage() {
				return filepath.SkipDir
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.Storage(), p)
		out[rel] = fmt.Sprintf("%s %d %s", info.Mode(), info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// AccessLine is one access log line of a SyncRegistry.
type AccessLine struct {
	Method string
	Path   string // with the query
	Status int
}

func (q AccessLine) String() string { return fmt.Sprintf("%s %s %d", q.Method, q.Path, q.Status) }

var accessLine = regexp.MustCompile(`"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) `)

// AccessLog returns the access log so far. A line is written when its
// request completes, so it first waits until the log stops growing.
func (r *Registry) AccessLog(t testing.TB) []AccessLine {
	t.Helper()
	waitSettled(t, r.proc.log)
	f, err := os.Open(r.proc.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []AccessLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m := accessLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		code, _ := strconv.Atoi(m[3])
		out = append(out, AccessLine{Method: m[1], Path: m[2], Status: code})
	}
	return out
}

// CountRequests counts the requests with method (any when "") whose path
// matches the regular expression pattern and, when status is not 0, that
// were answered with status.
func CountRequests(reqs []AccessLine, method, pattern string, status int) int {
	re := regexp.MustCompile(pattern)
	n := 0
	for _, q := range reqs {
		if (method == "" || q.Method == method) && re.MatchString(q.Path) && (status == 0 || q.Status == status) {
			n++
		}
	}
	return n
}

// Uploads counts committed blob uploads (a PUT or monolithic POST with
// ?digest= answered 201) and cross-repository mounts (POST ?mount=
// answered 201) in reqs.
func Uploads(reqs []AccessLine) (uploads, mounts int) {
	uploads = CountRequests(reqs, "PUT", `/blobs/uploads/.*[?&]digest=`, 201) +
		CountRequests(reqs, "POST", `/blobs/uploads/\?(.*&)?digest=`, 201)
	mounts = CountRequests(reqs, "POST", `/blobs/uploads/\?(.*&)?mount=`, 201)
	return uploads, mounts
}

// Blob is test content: size bytes from a seeded generator, so that a
// big blob needs no memory and the same seed gives the same blob.
type Blob struct {
	Seed   uint64
	Size   int64
	Digest v1.Hash
}

// NewBlob describes the blob of seed and size (reading it once for its
// digest).
func NewBlob(t testing.TB, seed uint64, size int64) Blob {
	t.Helper()
	b := Blob{Seed: seed, Size: size}
	h := sha256.New()
	if _, err := io.Copy(h, b.open()); err != nil {
		t.Fatal(err)
	}
	b.Digest = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	return b
}

func (b Blob) open() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], b.Seed)
	return io.LimitReader(rand.NewChaCha8(key), b.Size)
}

// Layer is the blob as a go-containerregistry layer, generated as it is
// read: pushing it holds none of it in memory.
func (b Blob) Layer() v1.Layer { return blobLayer{b} }

// blobLayer pushes a Blob with go-containerregistry.
type blobLayer struct{ b Blob }

func (l blobLayer) Digest() (v1.Hash, error)            { return l.b.Digest, nil }
func (l blobLayer) DiffID() (v1.Hash, error)            { return l.b.Digest, nil }
func (l blobLayer) Size() (int64, error)                { return l.b.Size, nil }
func (l blobLayer) MediaType() (types.MediaType, error) { return types.OCIUncompressedLayer, nil }
func (l blobLayer) Compressed() (io.ReadCloser, error)  { return io.NopCloser(l.b.open()), nil }
func (l blobLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(l.b.open()), nil
}

// ImageSpec is a test image: a platform ("linux/amd64", "linux/arm/v7")
// and its layers.
type ImageSpec struct {
	Platform string
	Layers   []Blob
}

// platform parses the spec's platform.
func (img ImageSpec) platform(t testing.TB) *v1.Platform {
	t.Helper()
	p, err := v1.ParsePlatform(img.Platform)
	if err != nil || p.OS == "" || p.Architecture == "" {
		t.Fatalf("testenv: platform %q: want os/arch[/variant] (%v)", img.Platform, err)
	}
	return p
}

// Pushed is a manifest a test pushed.
type Pushed struct {
	Digest    v1.Hash
	MediaType types.MediaType
	Size      int64
}

// rawManifest is a manifest pushed exactly as built.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// PushImage pushes an OCI image manifest, its config and layers to
// host/repo, tagged tag (by digest only when tag is "").
func PushImage(t testing.TB, host, repo, tag string, img ImageSpec) Pushed {
	t.Helper()
	r := repository(t, host, repo)
	pl := img.platform(t)
	cfg := map[string]any{"architecture": pl.Architecture, "os": pl.OS, "rootfs": map[string]any{"type": "layers", "diff_ids": digests(img.Layers)}}
	if pl.Variant != "" {
		cfg["variant"] = pl.Variant
	}
	cfgRaw, _ := json.Marshal(cfg)
	cfgBlob := v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(cfgRaw))}
	cfgBlob.Digest, _, _ = v1.SHA256(bytes.NewReader(cfgRaw))
	if err := remote.WriteLayer(r, staticLayer{raw: cfgRaw, d: cfgBlob}); err != nil {
		t.Fatalf("testenv: push config: %v", err)
	}
	mf := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfgBlob}
	for _, b := range img.Layers {
		if err := remote.WriteLayer(r, blobLayer{b}); err != nil {
			t.Fatalf("testenv: push layer: %v", err)
		}
		mf.Layers = append(mf.Layers, v1.Descriptor{MediaType: types.OCIUncompressedLayer, Size: b.Size, Digest: b.Digest})
	}
	raw, _ := json.Marshal(mf)
	return putManifest(t, r, tag, raw, types.OCIManifestSchema1)
}

// PushIndex pushes a multi-platform OCI index of imgs to host/repo, tagged
// tag. Its descriptors carry no artifactType, so that skopeo keeps its
// digest.
func PushIndex(t testing.TB, host, repo, tag string, imgs ...ImageSpec) Pushed {
	t.Helper()
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, img := range imgs {
		p := PushImage(t, host, repo, "", img)
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: p.MediaType, Size: p.Size, Digest: p.Digest,
			Platform: img.platform(t)})
	}
	raw, _ := json.Marshal(idx)
	return putManifest(t, repository(t, host, repo), tag, raw, types.OCIImageIndex)
}

func putManifest(t testing.TB, r name.Repository, tag string, raw []byte, mt types.MediaType) Pushed {
	t.Helper()
	d, size, _ := v1.SHA256(bytes.NewReader(raw))
	var ref name.Reference = r.Digest(d.String())
	if tag != "" {
		ref = r.Tag(tag)
	}
	if err := remote.Put(ref, rawManifest{raw: raw, mt: mt}); err != nil {
		t.Fatalf("testenv: push manifest %s: %v", ref, err)
	}
	return Pushed{Digest: d, MediaType: mt, Size: size}
}

func repository(t testing.TB, host, repo string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func digests(bs []Blob) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Digest.String()
	}
	return out
}

// staticLayer is a small blob held in memory (an image config).
type staticLayer struct {
	raw []byte
	d   v1.Descriptor
}

func (l staticLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l staticLayer) DiffID() (v1.Hash, error)            { return l.d.Digest, nil }
func (l staticLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l staticLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }
func (l staticLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.raw)), nil
}
func (l staticLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

// waitSettled waits, up to 5 s, until the file at path stops growing: a
// server logs a request once it is done with it, which can be a moment
// after the client read the response.
func waitSettled(t testing.TB, path string) {
	t.Helper()
	var last int64 = -1
	for range 50 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() == last {
			return
		}
		last = st.Size()
		time.Sleep(100 * time.Millisecond)
	}
}
