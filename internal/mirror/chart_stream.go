package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/fluxcd/flux-mirror/internal/helmrepo"
)

// streamChart reads a chart version's archive once, whose digest the index
// gave, and uploads it to dst's repository as it reads; the same bytes go
// through a pipe to the reader of its Chart.yaml. The destination's blob
// check comes first: when it already has the archive nothing is uploaded
// and the read only serves the Chart.yaml. An archive that is not what the
// index says fails, and its manifest is never written.
func (m *Mirror) streamChart(ctx context.Context, e Entry, dst name.Tag, cv *helmrepo.ChartVersion) (*chartArchive, error) {
	want, err := v1.NewHash("sha256:" + cv.Digest)
	if err != nil {
		return nil, permanent("chart %s %s: the index's digest %q is not a sha256: %w", cv.Name, cv.Version, cv.Digest, err)
	}
	body, length, err := e.Chart.Repository.Open(ctx, cv.URLs[0])
	if err != nil {
		return nil, httpPermanent(err)
	}
	defer body.Close()

	h := sha256.New()
	var size byteCount
	pr, pw := io.Pipe()
	type parsed struct {
		meta *helmrepo.Metadata
		err  error
	}
	metaCh := make(chan parsed, 1)
	go func() {
		md, err := helmrepo.ReadMetadata(pr)
		_, _ = io.Copy(io.Discard, pr) // never block the writer
		metaCh <- parsed{md, err}
	}()
	stream := io.TeeReader(&countingReader{ReadCloser: body, n: &m.bytes}, io.MultiWriter(h, &size, pw))
	blob := &streamedBlob{digest: want, size: length, r: stream}
	upErr := m.pusher.Upload(ctx, dst.Context(), blob)
	if upErr == nil {
		// Nothing read if the destination had the blob; the rest if the
		// upload stopped at the end of the bytes it expected.
		_, upErr = io.Copy(io.Discard, stream)
	}
	pw.CloseWithError(upErr)
	md := <-metaCh
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	switch {
	case upErr == nil && got != want, upErr != nil && length >= 0 && int64(size) == length && got != want:
		return nil, fmt.Errorf("chart %s %s: the archive's digest is %s, the index says %s: the repository changed under us or serves a corrupt archive", cv.Name, cv.Version, got, want)
	case upErr != nil:
		return nil, fmt.Errorf("write %s: %w", dst.Context(), upErr)
	case md.err != nil:
		return nil, permanent("chart %s %s: %w", cv.Name, cv.Version, md.err)
	case md.meta.Name != cv.Name || md.meta.Version != cv.Version:
		return nil, permanent("chart %s %s: the archive holds %s %s: the index does not match the archive", cv.Name, cv.Version, md.meta.Name, md.meta.Version)
	}
	return &chartArchive{digest: got, size: int64(size), meta: md.meta, uploaded: true}, nil
}

// streamedBlob is a blob read once, from a stream its owner also hashes
// and parses, for an upload.
type streamedBlob struct {
	digest v1.Hash
	size   int64 // -1 when the server did not say
	r      io.Reader
	once   sync.Once
}

func (s *streamedBlob) Digest() (v1.Hash, error)            { return s.digest, nil }
func (s *streamedBlob) Size() (int64, error)                { return s.size, nil }
func (s *streamedBlob) MediaType() (types.MediaType, error) { return helmrepo.ChartMediaType, nil }

// Compressed hands out the stream, once: a second upload attempt inside
// one job would start from the middle of it.
func (s *streamedBlob) Compressed() (io.ReadCloser, error) {
	rc := io.NopCloser(errReader{errors.New("chart archive: the stream was already read; the job retries from the start")})
	s.once.Do(func() { rc = io.NopCloser(s.r) })
	return rc, nil
}

func (s *streamedBlob) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("chart archive: diff ID not needed for a push")
}

func (s *streamedBlob) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("chart archive: uncompressed content not needed for a push")
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
