package jwk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteKeyPair(t *testing.T) {
	// A restrictive umask must not change the modes WriteKeyPair promises.
	defer syscall.Umask(syscall.Umask(0o077))
	dir := filepath.Join(t.TempDir(), "new", "keys")
	privPath, pubPath, err := WriteKeyPair(dir, "")
	if err != nil {
		t.Fatalf("WriteKeyPair: %v", err)
	}
	for _, tc := range []struct {
		path string
		mode fs.FileMode
	}{
		{dir, fs.ModeDir | 0o700},
		{privPath, 0o600},
		{pubPath, 0o644},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != tc.mode {
			t.Errorf("%s: mode %v, want %v", tc.path, fi.Mode(), tc.mode)
		}
	}
	if privPath != filepath.Join(dir, "privkey.json") || pubPath != filepath.Join(dir, "pubkey.json") {
		t.Errorf("paths %q, %q", privPath, pubPath)
	}
	priv, err := os.ReadFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivate(priv); err != nil {
		t.Errorf("written privkey.json does not parse: %v", err)
	}
}

func TestWriteKeyPairNeverOverwrites(t *testing.T) {
	for _, existing := range []string{PrivateKeyFile, PublicKeyFile} {
		t.Run(existing, func(t *testing.T) {
			dir := t.TempDir()
			old := []byte("keep me\n")
			if err := os.WriteFile(filepath.Join(dir, existing), old, 0o640); err != nil {
				t.Fatal(err)
			}
			_, _, err := WriteKeyPair(dir, Ed25519)
			if !errors.Is(err, fs.ErrExist) {
				t.Fatalf("WriteKeyPair: err = %v, want fs.ErrExist", err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the existing file", len(entries))
			}
			got, _ := os.ReadFile(filepath.Join(dir, existing))
			if string(got) != string(old) {
				t.Errorf("existing file changed to %q", got)
			}
		})
	}
}

func TestWriteKeyPairRefusesDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, filepath.Join(dir, PublicKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteKeyPair(dir, Ed25519); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteKeyPair: err = %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("symlink target was written")
	}
	if _, err := os.Lstat(filepath.Join(dir, PrivateKeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("private key written although the pair could not be")
	}
}

func TestWriteKeyPairDirIsFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteKeyPair(filepath.Join(dir, "file"), Ed25519); err == nil {
		t.Fatal("WriteKeyPair into a regular file succeeded")
	}
}

func TestGenerateUnknownType(t *testing.T) {
	if _, _, err := Generate("dsa"); err == nil {
		t.Fatal("Generate(dsa) succeeded")
	}
}
