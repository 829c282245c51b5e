package mirror

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"
)

// copyImage copies the manifest or index with digest d from src to dst,
// everything it references first, and writes it at ref last, so that ref
// never names an image the destination does not wholly hold.
func (m *Mirror) copyImage(ctx context.Context, src, dst name.Repository, d v1.Hash, known *rawManifest, ref name.Reference) error {
	mf, err := m.copyContent(ctx, src, dst, d, known)
	if err != nil {
		return err
	}
	return m.putManifest(ctx, ref, mf)
}

// copyContent copies everything the manifest or index with digest d
// references from src to dst (children, blobs) and returns the manifest,
// not yet written, so that the caller chooses where and when it lands.
// known is the manifest when the caller has read it already (nil: read
// it here).
func (m *Mirror) copyContent(ctx context.Context, src, dst name.Repository, d v1.Hash, known *rawManifest) (rawManifest, error) {
	if known == nil {
		desc, err := m.puller.Get(ctx, digestRef(src, d))
		if err != nil {
			return rawManifest{}, fmt.Errorf("read source %s: %w", digestRef(src, d), fromSource(err))
		}
		known = &rawManifest{raw: desc.Manifest, mediaType: desc.MediaType}
	}
	mt, raw := known.mediaType, known.raw
	switch {
	case mt.IsIndex():
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return rawManifest{}, permanent("source %s: invalid index: %w", digestRef(src, d), err)
		}
		if err := m.copyChildren(ctx, src, dst, idx.Manifests); err != nil {
			return rawManifest{}, err
		}
	case mt.IsSchema1():
		return rawManifest{}, permanent("source %s: Docker schema 1 manifests cannot be copied byte for byte", digestRef(src, d))
	default:
		// Image manifests and OCI artifacts: a config and layers.
		mf, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return rawManifest{}, permanent("source %s: invalid manifest (%s): %w", digestRef(src, d), mt, err)
		}
		if err := m.copyBlobs(ctx, src, dst, append([]v1.Descriptor{mf.Config}, mf.Layers...)); err != nil {
			return rawManifest{}, err
		}
	}
	return *known, nil
}

// putManifest writes mf at ref.
func (m *Mirror) putManifest(ctx context.Context, ref name.Reference, mf rawManifest) error {
	if err := m.pusher.Put(ctx, ref, mf); err != nil {
		return fmt.Errorf("write %s: %w", ref, err)
	}
	return nil
}

// copyChildren copies an index's children by digest, skipping the ones
// the destination already has.
func (m *Mirror) copyChildren(ctx context.Context, src, dst name.Repository, children []v1.Descriptor) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Concurrency)
	var blobs []v1.Descriptor
	for _, c := range children {
		if !c.MediaType.IsIndex() && !c.MediaType.IsImage() && !c.MediaType.IsSchema1() {
			blobs = append(blobs, c) // an index may point at plain blobs
			continue
		}
		g.Go(func() error {
			ref := digestRef(dst, c.Digest)
			if _, err := m.puller.Head(gctx, ref); err == nil {
				return nil
			} else if !isStatus(err, 404) {
				return fmt.Errorf("read destination %s: %w", ref, err)
			}
			return m.copyImage(gctx, src, dst, c.Digest, nil, ref)
		})
	}
	g.Go(func() error { return m.copyBlobs(gctx, src, dst, blobs) })
	return g.Wait()
}

// copyBlobs copies blobs, Concurrency at once.
func (m *Mirror) copyBlobs(ctx context.Context, src, dst name.Repository, blobs []v1.Descriptor) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.opts.Concurrency)
	for _, b := range blobs {
		g.Go(func() error { return m.copyBlob(gctx, src, dst, b) })
	}
	return g.Wait()
}

// copyBlob puts one blob in dst. Within a destination registry only the
// first job to need a blob uploads it; the others wait for it and mount
// it from the repository it went to (the registry falls back to an upload
// when it refuses the mount).
func (m *Mirror) copyBlob(ctx context.Context, src, dst name.Repository, b v1.Descriptor) error {
	key := ledgerKey{registry: dst.RegistryStr(), digest: b.Digest}
	for {
		e, owner := m.ledger.claim(key)
		if owner {
			err := m.upload(ctx, src, dst, b, nil)
			m.ledger.finish(key, e, dst.RepositoryStr(), err)
			return err
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if e.err != nil {
			continue // the owner failed: try again, perhaps as the owner
		}
		from, ok := e.holder(dst.RepositoryStr())
		if ok {
			return nil
		}
		mountFrom := dst.Registry.Repo(from)
		if err := m.upload(ctx, src, dst, b, &mountFrom); err != nil {
			return err
		}
		e.add(dst.RepositoryStr())
		return nil
	}
}

// upload writes blob b to dst through go-containerregistry, which first
// asks dst whether it has the blob, then mounts it from mountFrom when
// given, else streams it from src.
func (m *Mirror) upload(ctx context.Context, src, dst name.Repository, b v1.Descriptor, mountFrom *name.Repository) error {
	var l v1.Layer = &sourceBlob{ctx: ctx, m: m, ref: digestRef(src, b.Digest), desc: b}
	if mountFrom != nil {
		l = &remote.MountableLayer{Layer: l, Reference: digestRef(*mountFrom, b.Digest)}
	}
	if err := m.pusher.Upload(ctx, dst, l); err != nil {
		return fmt.Errorf("copy blob %s: %w", b.Digest, err)
	}
	return nil
}

// rawManifest is a manifest to PUT exactly as read, bytes and media type.
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }

// sourceBlob is a blob of the source, described by its descriptor and
// streamed (never buffered) from the source when the upload reads it.
type sourceBlob struct {
	ctx  context.Context
	m    *Mirror
	ref  name.Digest
	desc v1.Descriptor
}

func (s *sourceBlob) Digest() (v1.Hash, error)            { return s.desc.Digest, nil }
func (s *sourceBlob) Size() (int64, error)                { return s.desc.Size, nil }
func (s *sourceBlob) MediaType() (types.MediaType, error) { return s.desc.MediaType, nil }

// Compressed opens the source blob; go-containerregistry checks its digest
// as it is read (the size is checked by the destination's digest).
func (s *sourceBlob) Compressed() (io.ReadCloser, error) {
	l, err := s.m.puller.Layer(s.ctx, s.ref)
	if err != nil {
		return nil, fromSource(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fromSource(err)
	}
	return &countingReader{ReadCloser: rc, n: &s.m.bytes}, nil
}

// The rest of v1.Layer: a copy never looks inside a blob.
func (s *sourceBlob) DiffID() (v1.Hash, error) {
	return v1.Hash{}, fmt.Errorf("blob %s: diff ID not needed for a copy", s.desc.Digest)
}

func (s *sourceBlob) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("blob %s: uncompressed content not needed for a copy", s.desc.Digest)
}
