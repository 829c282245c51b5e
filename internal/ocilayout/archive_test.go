package ocilayout

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tarFile writes a tar of entries (name -> content; a name ending in "@"
// is a symlink) and returns its path.
func tarFile(t *testing.T, entries [][2]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for _, e := range entries {
		hdr := &tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
		if n, ok := strings.CutSuffix(e[0], "@"); ok {
			hdr = &tar.Header{Name: n, Linkname: e[1], Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e[1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestUnpackRefuses: entries that are not part of an OCI layout (a path
// out of the directory, a symlink, a stray file), a blob whose content is
// not its name, and an empty file are refused, naming the entry.
func TestUnpackRefuses(t *testing.T) {
	for _, c := range []struct {
		name    string
		entries [][2]string
		want    string
	}{
		{"path out of the directory", [][2]string{{"../evil", "x"}}, "unexpected entry ../evil"},
		{"absolute path", [][2]string{{"/etc/passwd", "x"}}, "unexpected entry /etc/passwd"},
		{"blob path out", [][2]string{{"blobs/sha256/../../../x", "x"}}, "unexpected entry"},
		{"symlink", [][2]string{{"index.json@", "/etc/passwd"}}, "regular files only"},
		{"stray file", [][2]string{{"README", "x"}}, "unexpected entry README"},
		{"altered blob", [][2]string{{"blobs/sha256/" + sum("a"), "b"}}, "blob sha256:" + sum("a") + " is altered"},
		{"bad blob name", [][2]string{{"blobs/sha256/xyz", "b"}}, "unexpected entry blobs/sha256/xyz"},
		{"empty", nil, "empty or not a tar archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Unpack(context.Background(), tarFile(t, c.entries), dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Unpack: %v, want an error with %q", err, c.want)
			}
		})
	}
}

// TestVerifyRefuses: a layout whose index names a manifest that is not
// there, or a blob of another size than its descriptor's, is refused.
func TestVerifyRefuses(t *testing.T) {
	layer := "hello"
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + sum("{}") + `","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:` + sum(layer) + `","size":5}]}`
	index := func(size int) string {
		return `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + sum(manifest) + `","size":` + itoa(size) + `}]}`
	}
	full := map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": index(len(manifest)),
		"blobs/sha256/" + sum(manifest): manifest, "blobs/sha256/" + sum("{}"): "{}", "blobs/sha256/" + sum(layer): layer}
	for _, c := range []struct {
		name, drop, want string
		index            string
	}{
		{name: "complete"},
		{name: "missing layer", drop: "blobs/sha256/" + sum(layer), want: "blob sha256:" + sum(layer) + " (referenced by sha256:" + sum(manifest)},
		{name: "missing manifest", drop: "blobs/sha256/" + sum(manifest), want: "blob sha256:" + sum(manifest) + " (index.json entry"},
		{name: "wrong size", index: index(3), want: "its descriptor says 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range full {
				if name == c.drop {
					continue
				}
				if name == "index.json" && c.index != "" {
					content = c.index
				}
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := Verify(context.Background(), dir, false, false)
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Errorf("Verify: %v, want %q", err, c.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
