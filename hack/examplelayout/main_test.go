package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedLayoutIsReproduced: the generator writes exactly the files
// committed under examples/airgap/layout.
func TestCommittedLayoutIsReproduced(t *testing.T) {
	committed := filepath.Join("..", "..", "examples", "airgap", "layout")
	dir := filepath.Join(t.TempDir(), "layout")
	if err := run(dir); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got, _ := os.ReadFile(p)
		want, rerr := os.ReadFile(filepath.Join(committed, rel))
		if rerr != nil || string(got) != string(want) {
			t.Errorf("%s differs from the committed file (%v): run go run ./hack/examplelayout examples/airgap/layout", rel, rerr)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 9 {
		t.Errorf("the generator wrote %d files, want 9 (oci-layout, index.json, 7 blobs)", n)
	}
}
