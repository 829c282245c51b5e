package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// StartPlainRegistry starts distribution v3 (the registry peer) with no
// authentication in dir, for programs that have no testing.TB
// (hack/bench). Its access log goes to LogPath, its storage to StorageDir.
// The caller stops it with Stop.
func StartPlainRegistry(dir string) (*Registry, error) {
	bin := filepath.Join(BinDir(), "registry")
	if err := checkBinary(bin); err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	host := "127.0.0.1:" + strconv.Itoa(ports[0])
	// A fixed http.secret avoids a warning per start; upload purging would
	// wake up in the middle of a measurement.
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: flux-mirror-test-not-secret
`, filepath.Join(dir, "data"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	// Tracing is on by default in v3; there is no collector here.
	p, err := startProcessEnv("registry", bin, filepath.Join(dir, "registry.log"), []string{"OTEL_TRACES_EXPORTER=none"}, "serve", cfgPath)
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: host, Dir: dir, proc: p}
	if err := r.waitReady(30 * time.Second); err != nil {
		p.kill()
		return nil, err
	}
	return r, nil
}

// Stop kills the registry and waits for it to exit.
func (r *Registry) Stop() { r.proc.kill() }

// LogPath is the registry's log file: one access log line per finished
// request, among its other lines.
func (r *Registry) LogPath() string { return r.proc.log }

// StorageDir is the root of the registry's filesystem storage.
func (r *Registry) StorageDir() string { return filepath.Join(r.Dir, "data") }

// BlobPath is where the registry stores the blob with the given sha256 hex
// digest (manifests are blobs there too).
func (r *Registry) BlobPath(hex string) string {
	return filepath.Join(r.StorageDir(), "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
}
