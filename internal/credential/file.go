package credential

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// MaxFileSize is the largest file ReadFile reads, and the most of any
// reply (a token endpoint's, a cloud API's) the sources read: a token, key,
// CA bundle or token reply is far smaller, and the cap keeps a wrong path or
// a misbehaving server from filling memory.
const MaxFileSize = 1 << 20

// ReadFile reads the file at path, confined to the directory root: path is
// resolved as if root were the filesystem root, so "..", an absolute path
// or a symlink pointing anywhere cannot leave it. Symlinks that stay inside
// root work, including the "..data" layout Kubernetes uses to mount
// ConfigMaps, Secrets and projected volumes.
//
// The confinement is resolved before the file is opened, so it guards
// against mistakes in the config, not against a process that swaps
// symlinks under root at the same moment.
func ReadFile(root, path string) ([]byte, error) {
	if root == "" {
		return nil, errors.New("no root directory to resolve the path in")
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	full, err := securejoin.SecureJoin(absRoot, path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, confinedError(path, absRoot, full, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", full, MaxFileSize)
	}
	return data, nil
}

// fromFile yields the content of credential.fromPath, read afresh on every
// call because projected tokens rotate, without surrounding whitespace.
func fromFile(_ context.Context, req tokenRequest) (token, error) {
	data, err := ReadFile(req.root, req.cred.FromPath)
	if err != nil {
		return token{}, fmt.Errorf("read credential.fromPath %q: %w", req.cred.FromPath, err)
	}
	value := strings.TrimSpace(string(data))
	if value == "" {
		return token{}, fmt.Errorf("credential.fromPath %q: file is empty or only whitespace", req.cred.FromPath)
	}
	return token{value: value}, nil
}

// confinedError explains a file that could not be opened: the path the
// user wrote was looked up inside root, which is not where an absolute
// path or a symlink pointing out of root would lead outside flux-mirror.
func confinedError(path, root, full string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is said below, as written and as resolved
	}
	return fmt.Errorf("%w: %q was looked up as %s, since paths in the config are confined to %s "+
		"(absolute paths, \"..\" and symlinks are re-rooted there)", err, path, full, root)
}
