// Package ocilayout keeps OCI image layouts (a directory of oci-layout,
// index.json and blobs/sha256/...) and tar archives of them, and serves a
// layout to the sync engine as if it were a registry, so that the engine's
// decision table, referrers, platforms and charts work unchanged when the
// source or the destination of a run is a layout.
//
// A layout here holds many repositories: every tag is listed in index.json
// with the full reference it has at its destination
// (org.opencontainers.image.ref.name = host/path:tag), as oras, skopeo
// and crane read it, and every descriptor carries the repository it
// belongs to in RepositoryAnnotation. Manifests pushed by digest only
// (referrers) are listed without a ref name.
package ocilayout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// RefNameAnnotation is the OCI annotation that names a tag in index.json.
	RefNameAnnotation = "org.opencontainers.image.ref.name"
	// RepositoryAnnotation names the repository (host/path) an index.json
	// descriptor belongs to.
	RepositoryAnnotation = "mirror.plugin.fluxcd.io/repository"
	// maxManifest bounds a manifest read into memory.
	maxManifest = 4 << 20
	// maxIndex bounds index.json and the blob list read into memory.
	maxIndex = 64 << 20
)

// Store is an OCI image layout directory holding many repositories. It is
// safe for concurrent use.
type Store struct {
	dir      string
	writable bool
	// Label names the layout in errors ("the archive x.tar"); default
	// "the OCI layout <dir>".
	Label string

	mu        sync.Mutex
	repos     map[string]*repo
	manifests map[v1.Hash]*manifestInfo
	// foreign are index.json descriptors this package did not write (no
	// repository it can tell): kept as they are when index.json is saved.
	foreign []v1.Descriptor
	uploads map[string]*upload
}

// repo is one repository of the layout: its tags and the manifests it holds.
type repo struct {
	tags    map[string]v1.Hash
	digests map[v1.Hash]bool
}

// manifestInfo is what the store knows of a manifest blob.
type manifestInfo struct {
	desc     v1.Descriptor // mediaType, digest, size, artifactType, annotations
	subject  *v1.Hash
	children []v1.Hash // an index's manifests
}

// Create opens the layout at dir for writing, making an empty one when dir
// does not exist or is empty.
func Create(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("create OCI layout %s: %w", dir, err)
	}
	s, err := open(dir, true)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens the existing layout at dir for reading.
func Open(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout (no index.json): %w", dir, err)
	}
	return open(dir, false)
}

func open(dir string, writable bool) (*Store, error) {
	s := &Store{dir: dir, writable: writable, repos: map[string]*repo{}, manifests: map[v1.Hash]*manifestInfo{}, uploads: map[string]*upload{}}
	idx, err := readIndex(dir)
	if errors.Is(err, os.ErrNotExist) && writable {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	for _, d := range idx.Manifests {
		repoName, tag := descriptorRepository(d)
		if repoName == "" {
			s.foreign = append(s.foreign, d)
			continue
		}
		if err := s.addTree(repoName, d); err != nil {
			return nil, err
		}
		if tag != "" {
			s.repo(repoName).tags[tag] = d.Digest
		}
	}
	return s, nil
}

// descriptorRepository says which repository (and tag) an index.json
// descriptor is for: RepositoryAnnotation, else a ref name that is a full
// reference with a registry (as skopeo or oras may write one).
func descriptorRepository(d v1.Descriptor) (repoName, tag string) {
	refName := d.Annotations[RefNameAnnotation]
	if r := d.Annotations[RepositoryAnnotation]; r != "" {
		if t, ok := strings.CutPrefix(refName, r+":"); ok {
			tag = t
		}
		return r, tag
	}
	if !strings.Contains(refName, "/") {
		return "", ""
	}
	t, err := name.NewTag(refName, name.StrictValidation)
	if err != nil {
		return "", ""
	}
	return t.Context().Name(), t.TagStr()
}

// readIndex reads dir's index.json.
func readIndex(dir string) (*v1.IndexManifest, error) {
	f, err := os.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx, err := v1.ParseIndexManifest(io.LimitReader(f, maxIndex))
	if err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", dir, err)
	}
	return idx, nil
}

// addTree records manifest d and, for an index, its children in repoName.
func (s *Store) addTree(repoName string, d v1.Descriptor) error {
	info, err := s.loadManifest(d)
	if err != nil {
		return err
	}
	s.repo(repoName).digests[d.Digest] = true
	for _, c := range info.children {
		if cd := s.manifests[c]; cd != nil && s.repo(repoName).digests[c] {
			continue
		}
		child, err := s.readBlobDescriptor(c, info)
		if err != nil {
			return err
		}
		if err := s.addTree(repoName, child); err != nil {
			return err
		}
	}
	return nil
}

// readBlobDescriptor finds the descriptor of child c in its parent's bytes.
func (s *Store) readBlobDescriptor(c v1.Hash, parent *manifestInfo) (v1.Descriptor, error) {
	raw, err := s.readManifest(parent.desc.Digest)
	if err != nil {
		return v1.Descriptor{}, err
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("index %s: %w", parent.desc.Digest, err)
	}
	for _, m := range idx.Manifests {
		if m.Digest == c {
			return m, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("index %s has no child %s", parent.desc.Digest, c)
}

// loadManifest reads manifest d from its blob and records what it refers to.
func (s *Store) loadManifest(d v1.Descriptor) (*manifestInfo, error) {
	if info := s.manifests[d.Digest]; info != nil {
		return info, nil
	}
	raw, err := s.readManifest(d.Digest)
	if err != nil {
		return nil, err
	}
	info, err := describe(raw, d.MediaType)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	s.manifests[d.Digest] = info
	return info, nil
}

// describe parses a manifest or index: its descriptor as the referrers API
// lists it, its subject, its children.
func describe(raw []byte, mt types.MediaType) (*manifestInfo, error) {
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var m struct {
		MediaType    types.MediaType   `json:"mediaType"`
		ArtifactType string            `json:"artifactType"`
		Config       *v1.Descriptor    `json:"config"`
		Manifests    []v1.Descriptor   `json:"manifests"`
		Subject      *v1.Descriptor    `json:"subject"`
		Annotations  map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if mt == "" {
		mt = m.MediaType
	}
	info := &manifestInfo{desc: v1.Descriptor{MediaType: mt, Digest: h, Size: size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}}
	if info.desc.ArtifactType == "" && m.Config != nil {
		info.desc.ArtifactType = string(m.Config.MediaType)
	}
	if m.Subject != nil {
		info.subject = &m.Subject.Digest
	}
	for _, c := range m.Manifests {
		if c.MediaType.IsIndex() || c.MediaType.IsImage() {
			info.children = append(info.children, c.Digest)
		}
	}
	return info, nil
}

func (s *Store) repo(n string) *repo {
	r := s.repos[n]
	if r == nil {
		r = &repo{tags: map[string]v1.Hash{}, digests: map[v1.Hash]bool{}}
		s.repos[n] = r
	}
	return r
}

func (s *Store) label() string {
	if s.Label != "" {
		return s.Label
	}
	return "the OCI layout " + s.dir
}

// blobPath is where blob d lives.
func (s *Store) blobPath(d v1.Hash) string {
	return filepath.Join(s.dir, "blobs", d.Algorithm, d.Hex)
}

func (s *Store) readManifest(d v1.Hash) ([]byte, error) {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d, err)
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxManifest))
}

// Repositories lists the repositories the layout holds, sorted.
func (s *Store) Repositories() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.repos))
	for r := range s.repos {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Save writes index.json (atomically) and the oci-layout file: every tag
// under its full reference, and every referrer (a manifest with a subject)
// that no other manifest of its repository lists.
func (s *Store) Save() error {
	s.mu.Lock()
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: slices.Clone(s.foreign)}
	for _, rn := range sortedKeys(s.repos) {
		r := s.repos[rn]
		listed := map[v1.Hash]bool{}
		for _, d := range sortedKeys(r.digests) {
			for _, c := range s.manifests[d].children {
				listed[c] = true
			}
		}
		for _, tag := range sortedKeys(r.tags) {
			d := s.manifests[r.tags[tag]].desc
			d.Annotations = map[string]string{RefNameAnnotation: rn + ":" + tag, RepositoryAnnotation: rn}
			idx.Manifests = append(idx.Manifests, d)
			listed[d.Digest] = true
		}
		for _, dg := range sortedKeys(r.digests) {
			// Referrers have no tag; any other manifest no tag reaches
			// was replaced (overwrite) and is left out.
			if !listed[dg] && s.manifests[dg].subject != nil {
				d := s.manifests[dg].desc
				d.Annotations = map[string]string{RepositoryAnnotation: rn}
				idx.Manifests = append(idx.Manifests, d)
			}
		}
	}
	s.mu.Unlock()
	raw, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.dir, "index.json"), raw)
}

// sortedKeys returns m's keys in order (hashes by their string).
func sortedKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b K) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return out
}

// writeFileAtomic writes data to path through a synced temporary file in
// the same directory, renamed over path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
