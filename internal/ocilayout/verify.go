package ocilayout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Verify checks the layout in dir before anything is read from it:
//   - every blob ContentsFile lists is there with its size, and no other
//     blob is (ContentsFile is required when requireContents is set);
//   - unless hashed says Unpack hashed them already, every blob's content
//     is its digest (read as a stream);
//   - every manifest index.json lists, and everything it references
//     (children, configs, layers), is there with the size its descriptor
//     gives.
//
// The first problem found is returned, naming the blob.
func Verify(ctx context.Context, dir string, requireContents, hashed bool) error {
	idx, err := readIndex(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is not an OCI image layout: it has no index.json", dir)
	}
	if err != nil {
		return fmt.Errorf("index.json: %w", err)
	}
	if err := verifyContents(dir, requireContents); err != nil {
		return err
	}
	if !hashed {
		if err := hashBlobs(ctx, dir); err != nil {
			return err
		}
	}
	seen := map[v1.Hash]bool{}
	for _, d := range idx.Manifests {
		what := "index.json entry " + d.Digest.String()
		if r := d.Annotations[RefNameAnnotation]; r != "" {
			what = "index.json entry " + r
		}
		if err := verifyTree(dir, d, what, seen); err != nil {
			return err
		}
	}
	return nil
}

// verifyContents compares blobs/sha256 with ContentsFile.
func verifyContents(dir string, required bool) error {
	raw, err := os.ReadFile(filepath.Join(dir, ContentsFile))
	if errors.Is(err, os.ErrNotExist) && !required {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s, the list of its blobs, is missing: the archive was not written by flux-mirror sync --to-archive (extract another tool's archive and use --from-layout)", ContentsFile)
	}
	if err != nil {
		return fmt.Errorf("%s, the list of the archive's blobs, is missing or unreadable: %w", ContentsFile, err)
	}
	var c Contents
	if err := json.Unmarshal(raw, &c); err != nil || c.MediaType != ContentsMediaType {
		return fmt.Errorf("%s is not a list of blobs (%s): %v", ContentsFile, ContentsMediaType, err)
	}
	have, err := listBlobs(dir)
	if err != nil {
		return err
	}
	sizes := map[v1.Hash]int64{}
	for _, b := range have.Blobs {
		sizes[b.Digest] = b.Size
	}
	for _, b := range c.Blobs {
		got, ok := sizes[b.Digest]
		switch {
		case !ok:
			return fmt.Errorf("blob %s (%d bytes) is missing: %s lists it", b.Digest, b.Size, ContentsFile)
		case got != b.Size:
			return fmt.Errorf("blob %s is %d bytes, %s says %d", b.Digest, got, ContentsFile, b.Size)
		}
		delete(sizes, b.Digest)
	}
	for d := range sizes {
		return fmt.Errorf("blob %s is not listed in %s: the archive was altered", d, ContentsFile)
	}
	return nil
}

// hashBlobs checks that every blob's content is its digest.
func hashBlobs(ctx context.Context, dir string) error {
	have, err := listBlobs(dir)
	if err != nil {
		return err
	}
	for _, b := range have.Blobs {
		f, err := os.Open(filepath.Join(dir, "blobs", "sha256", b.Digest.Hex))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, ctxReader{ctx, f})
		f.Close()
		if err != nil {
			return fmt.Errorf("read blob %s: %w", b.Digest, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != b.Digest.Hex {
			return fmt.Errorf("blob %s is altered: its content hashes to sha256:%s", b.Digest, got)
		}
	}
	return nil
}

// verifyTree checks that d's blob is there with d's size and, for a
// manifest or index, everything it references.
func verifyTree(dir string, d v1.Descriptor, what string, seen map[v1.Hash]bool) error {
	if seen[d.Digest] {
		return nil
	}
	p := filepath.Join(dir, "blobs", d.Digest.Algorithm, d.Digest.Hex)
	st, err := os.Stat(p)
	switch {
	case err != nil && len(d.URLs) > 0:
		return nil // a foreign layer, fetched from its URLs by clients
	case err != nil:
		return fmt.Errorf("blob %s (%s) is missing from the layout", d.Digest, what)
	case st.Size() != d.Size:
		return fmt.Errorf("blob %s (%s) is %d bytes, its descriptor says %d", d.Digest, what, st.Size(), d.Size)
	}
	seen[d.Digest] = true
	if !d.MediaType.IsIndex() && !d.MediaType.IsImage() {
		return nil
	}
	if st.Size() > maxManifest {
		return fmt.Errorf("manifest %s (%s) is %d bytes, over the limit of %d", d.Digest, what, st.Size(), maxManifest)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var m struct {
		Config    *v1.Descriptor  `json:"config"`
		Layers    []v1.Descriptor `json:"layers"`
		Manifests []v1.Descriptor `json:"manifests"`
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&m); err != nil {
		return fmt.Errorf("manifest %s (%s) does not parse: %w", d.Digest, what, err)
	}
	refs := append(append([]v1.Descriptor{}, m.Manifests...), m.Layers...)
	if m.Config != nil {
		refs = append(refs, *m.Config)
	}
	for _, c := range refs {
		if err := verifyTree(dir, c, "referenced by "+d.Digest.String()+", "+what, seen); err != nil {
			return err
		}
	}
	return nil
}
