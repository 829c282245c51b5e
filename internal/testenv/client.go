package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientTimeout bounds one run of a registry client.
const clientTimeout = 60 * time.Second

// RunClient runs a registry client (crane, oras, skopeo, a credential
// helper) with a clean environment: HOME and DOCKER_CONFIG are dockerConfig
// (so no other Docker config is read), PATH is /usr/bin:/bin (where the
// Debian credential helpers live), and env is added. It returns the
// combined output and the error of the run.
func RunClient(t testing.TB, bin, dockerConfig string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{
		"HOME=" + dockerConfig,
		"DOCKER_CONFIG=" + dockerConfig,
		"PATH=/usr/bin:/bin",
		"XDG_RUNTIME_DIR=" + dockerConfig,
	}, env...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("testenv: %s %s did not finish within %s:\n%s", filepath.Base(bin), strings.Join(args, " "), clientTimeout, out)
	}
	return string(out), err
}

// DockerConfigWith writes a Docker config directory whose config.json holds
// the given auths entries, for the clients that set up a test (pushing an
// image), and returns the directory.
func DockerConfigWith(t testing.TB, auths map[string]map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "config.json"), string(b))
	return dir
}

// BasicAuth is the auths entry of a username/password pair.
func BasicAuth(user, password string) map[string]string {
	return map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
}

// PushTestImage builds a one-layer image with crane, pushes it to ref with
// the credentials in dockerConfig and returns its manifest digest.
func PushTestImage(t testing.TB, ref, dockerConfig string) string {
	t.Helper()
	crane := Tool(t, "crane")
	layer := filepath.Join(t.TempDir(), "layer.tar")
	writeLayer(t, layer)
	if out, err := RunClient(t, crane, dockerConfig, nil, "append", "-f", layer, "-t", ref); err != nil {
		t.Fatalf("testenv: crane append to %s: %v\n%s", ref, err, out)
	}
	out, err := RunClient(t, crane, dockerConfig, nil, "digest", ref)
	if err != nil {
		t.Fatalf("testenv: crane digest %s: %v\n%s", ref, err, out)
	}
	return strings.TrimSpace(out)
}

// writeLayer writes a tar layer holding one small file.
func writeLayer(t testing.TB, path string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("hello from flux-mirror's tests\n")
	hdr := &tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
