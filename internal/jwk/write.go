package jwk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File names and modes WriteKeyPair uses.
const (
	// PrivateKeyFile holds the private JWK set; only its owner may read it.
	PrivateKeyFile = "privkey.json"
	// PublicKeyFile holds the public JWK set, meant to be handed to verifiers.
	PublicKeyFile = "pubkey.json"

	privateKeyMode fs.FileMode = 0o600
	publicKeyMode  fs.FileMode = 0o644
	// dirMode applies only to a directory WriteKeyPair creates; an existing
	// directory keeps its mode.
	dirMode fs.FileMode = 0o700
)

// WriteKeyPair generates a key pair of type kt and writes it to dir as
// PrivateKeyFile (mode 0600) and PublicKeyFile (mode 0644), whatever the
// umask. An empty dir means the working directory; a missing one is created
// with mode 0700.
//
// It never overwrites anything: if either file already exists (even as a
// dangling symlink) it writes nothing and returns an error that matches
// fs.ErrExist. If it fails half-way, it removes the file it created, so
// either both files are written or neither is.
func WriteKeyPair(dir string, kt KeyType) (privPath, pubPath string, err error) {
	if dir == "" {
		dir = "."
	}
	privPath = filepath.Join(dir, PrivateKeyFile)
	pubPath = filepath.Join(dir, PublicKeyFile)
	for _, p := range []string{privPath, pubPath} {
		if err := refuseExisting(p); err != nil {
			return "", "", err
		}
	}
	priv, pub, err := Generate(kt)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", "", fmt.Errorf("create key directory: %w", err)
	}
	if err := writeNew(privPath, priv, privateKeyMode); err != nil {
		return "", "", err
	}
	if err := writeNew(pubPath, pub, publicKeyMode); err != nil {
		// Leave no private key behind without its public half.
		_ = os.Remove(privPath)
		return "", "", err
	}
	return privPath, pubPath, nil
}

// refuseExisting fails when anything, even a dangling symlink, is at path.
func refuseExisting(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("refusing to overwrite %s: %w", path, fs.ErrExist)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return err
	}
}

// writeNew creates path exclusively, writes data with the exact mode and
// syncs it. On failure it removes what it created.
func writeNew(path string, data []byte, mode fs.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("refusing to overwrite %s: %w", path, fs.ErrExist)
		}
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	// The umask may have narrowed the mode given to OpenFile.
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
