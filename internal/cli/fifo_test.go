package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// slowConfig writes a config whose one host, slow.example.com, reads its
// token from a FIFO: the credential source blocks on it until --timeout
// (or the test's end, when a writer opens it without blocking if nothing
// ever read it). It returns the config's path and the FIFO's.
func slowConfig(t *testing.T) (cfg, fifo string) {
	t.Helper()
	dir := t.TempDir()
	fifo = filepath.Join(dir, "token")
	must(t, syscall.Mkfifo(fifo, 0o600))
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	return writeFile(t, dir, "mirror.yaml", header+"hosts:\n- host: slow.example.com\n  credential:\n    fromPath: token\n"), fifo
}
