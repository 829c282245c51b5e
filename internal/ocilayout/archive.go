package ocilayout

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// ContentsFile is the file, next to index.json, that lists every blob of
// an archive with its size, so that a missing or altered blob is found
// before anything is pushed.
const ContentsFile = "flux-mirror-blobs.json"

// Contents is ContentsFile's document.
type Contents struct {
	// MediaType is ContentsMediaType.
	MediaType string `json:"mediaType"`
	// Blobs are every file under blobs/, sorted by digest.
	Blobs []BlobEntry `json:"blobs"`
}

// BlobEntry is one blob of Contents.
type BlobEntry struct {
	Digest v1.Hash `json:"digest"`
	Size   int64   `json:"size"`
}

// ContentsMediaType identifies ContentsFile.
const ContentsMediaType = "application/vnd.fluxcd.mirror.blobs.v1+json"

// IsZstd says whether an archive named path is zstd-compressed when written.
func IsZstd(path string) bool {
	return strings.HasSuffix(path, ".zst") || strings.HasSuffix(path, ".zstd")
}

// Pack writes the layout in dir as a tar archive at target (zstd when its
// name ends in .zst or .zstd): oci-layout, ContentsFile and index.json
// first, then the blobs, each streamed from its file. It writes a
// temporary file next to target, syncs it and renames it over target
// last, so that an error or a cancelled ctx leaves nothing at target.
// With consume, each blob file is removed once it is in the archive, so
// that the disk holds the blobs about once, not twice (dir is then
// spent, whatever the outcome).
func Pack(ctx context.Context, dir, target string, consume bool) (rerr error) {
	contents, err := listBlobs(dir)
	if err != nil {
		return err
	}
	list, err := json.MarshalIndent(contents, "", "  ")
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp-%s", target, randomID()[:12])
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	defer func() {
		if rerr != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := writeTar(ctx, f, dir, IsZstd(target), contents, list, consume); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write archive: %w", context.Cause(ctx))
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if d, err := os.Open(filepath.Dir(target)); err == nil {
		_ = d.Sync() // the rename itself survives a crash
		d.Close()
	}
	return nil
}

// writeTar writes the archive's entries to f: the layout files, then every
// blob streamed from its file (removed once written, with consume).
func writeTar(ctx context.Context, f io.Writer, dir string, compress bool, contents Contents, list []byte, consume bool) (rerr error) {
	bw := bufio.NewWriterSize(f, 1<<20)
	var out io.Writer = bw
	var zw *zstd.Encoder
	if compress {
		// One encoder goroutine: memory stays a few MiB whatever the size.
		var err error
		if zw, err = zstd.NewWriter(bw, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true)); err != nil {
			return err
		}
		defer func() {
			if rerr != nil {
				zw.Close() // stop its goroutine; the file is removed anyway
			}
		}()
		out = zw
	}
	tw := tar.NewWriter(out)
	for _, name := range []string{"oci-layout", ContentsFile, "index.json"} {
		data := list
		if name != ContentsFile {
			var err error
			if data, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("write archive: %w", err)
			}
		}
		if err := writeEntry(ctx, tw, name, int64(len(data)), bytes.NewReader(data)); err != nil {
			return err
		}
	}
	for _, b := range contents.Blobs {
		if err := packBlob(ctx, tw, dir, b); err != nil {
			return err
		}
		if consume {
			_ = os.Remove(filepath.Join(dir, "blobs", b.Digest.Algorithm, b.Digest.Hex))
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("write archive: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

func packBlob(ctx context.Context, tw *tar.Writer, dir string, b BlobEntry) error {
	f, err := os.Open(filepath.Join(dir, "blobs", b.Digest.Algorithm, b.Digest.Hex))
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	defer f.Close()
	return writeEntry(ctx, tw, path.Join("blobs", b.Digest.Algorithm, b.Digest.Hex), b.Size, f)
}

// writeEntry writes one regular file to tw, checking ctx as it goes.
func writeEntry(ctx context.Context, tw *tar.Writer, name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write archive: %s: %w", name, err)
	}
	if _, err := io.Copy(tw, ctxReader{ctx, r}); err != nil {
		return fmt.Errorf("write archive: %s: %w", name, err)
	}
	return nil
}

// ctxReader stops reading when ctx ends (SIGTERM during a long blob).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// listBlobs lists the files under dir/blobs/sha256 with their sizes.
func listBlobs(dir string) (Contents, error) {
	c := Contents{MediaType: ContentsMediaType, Blobs: []BlobEntry{}}
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		return c, fmt.Errorf("list blobs of %s: %w", dir, err)
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			return c, err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		c.Blobs = append(c.Blobs, BlobEntry{Digest: v1.Hash{Algorithm: "sha256", Hex: e.Name()}, Size: info.Size()})
	}
	slices.SortFunc(c.Blobs, func(a, b BlobEntry) int { return strings.Compare(a.Digest.Hex, b.Digest.Hex) })
	return c, nil
}

// Unpack extracts the archive at file into dir (which must exist and be
// empty), hashing every blob as it is written: a blob whose content is not
// its name's digest, a truncated archive, or an entry that is not part of
// an OCI layout is refused. Compression (zstd, gzip) is told by the
// content, not the name. Call Verify on dir afterwards.
func Unpack(ctx context.Context, file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	magic, _ := br.Peek(4)
	var in io.Reader = br
	switch {
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return fmt.Errorf("read archive %s: %w", file, err)
		}
		defer zr.Close()
		in = zr
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read archive %s: %w", file, err)
		}
		in = zr
	}
	tr := tar.NewReader(in)
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return fmt.Errorf("archive %s is empty or not a tar archive", file)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive %s is truncated or corrupt after %d entries: %w", file, n, err)
		}
		if err := unpackEntry(ctx, tr, hdr, dir); err != nil {
			return fmt.Errorf("archive %s: %w", file, err)
		}
	}
}

// unpackEntry extracts one tar entry: a layout file or a blob.
func unpackEntry(ctx context.Context, tr *tar.Reader, hdr *tar.Header, dir string) error {
	name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
	if hdr.Typeflag == tar.TypeDir {
		if name == "." || name == "blobs" || name == "blobs/sha256" {
			return nil
		}
		return fmt.Errorf("unexpected directory %s: not part of an OCI image layout", hdr.Name)
	}
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("unexpected entry %s (type %c): an OCI image layout holds regular files only", hdr.Name, hdr.Typeflag)
	}
	var want *v1.Hash
	switch {
	case name == "oci-layout" || name == "index.json" || name == ContentsFile:
		if hdr.Size > maxIndex {
			return fmt.Errorf("%s is %d bytes, over the limit of %d", name, hdr.Size, maxIndex)
		}
	case strings.HasPrefix(name, "blobs/sha256/"):
		h, err := v1.NewHash("sha256:" + strings.TrimPrefix(name, "blobs/sha256/"))
		if err != nil {
			return fmt.Errorf("unexpected entry %s: %w", hdr.Name, err)
		}
		want = &h
	default:
		return fmt.Errorf("unexpected entry %s: not part of an OCI image layout", hdr.Name)
	}
	out, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	defer out.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), ctxReader{ctx, tr})
	if ctx.Err() != nil {
		return fmt.Errorf("stopped while extracting %s: %w", name, context.Cause(ctx))
	}
	if err != nil {
		return fmt.Errorf("the archive is truncated or corrupt in %s (%d of %d bytes read): %w", name, n, hdr.Size, err)
	}
	if want != nil && hex.EncodeToString(h.Sum(nil)) != want.Hex {
		return fmt.Errorf("blob %s is altered: its content hashes to sha256:%s", want, hex.EncodeToString(h.Sum(nil)))
	}
	return out.Close()
}
