// Package image builds the flux-mirror container image with ko, as
// `make image` does, pushes it to a loopback registry and inspects it with
// crane. There is no Docker daemon here and none is needed.
package image

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// baseLayer writes what the base image holds: the host's CA bundle and a
// passwd entry for the non-root user, as a distroless static image has.
func baseLayer(t *testing.T) string {
	t.Helper()
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("the base layer needs the Debian CA bundle (ca-certificates): %v", err)
	}
	path := filepath.Join(t.TempDir(), "base.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for name, body := range map[string][]byte{
		"etc/ssl/certs/ca-certificates.crt": ca,
		"etc/passwd":                        []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"),
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImage(t *testing.T) {
	password := "image-test-password"
	reg := testenv.StartHtpasswdRegistry(t, "robot", password)
	docker := testenv.DockerConfigWith(t, map[string]map[string]string{reg.Host: testenv.BasicAuth("robot", password)})
	crane := testenv.Tool(t, "crane")
	craneDo := func(args ...string) string {
		t.Helper()
		out, err := testenv.RunClient(t, crane, docker, nil, args...)
		if err != nil {
			t.Fatalf("crane %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	// No internet here: the base image (a stand-in for the distroless one
	// in .ko.yaml) is made in the loopback registry.
	base := reg.Host + "/base:nonroot"
	craneDo("append", "-f", baseLayer(t), "-t", base)
	// crane logs on the same stream; the reference is its last line.
	lines := strings.Split(strings.TrimSpace(craneDo("mutate", base, "--user", "65532:65532", "--set-platform", "linux/amd64", "-t", base)), "\n")
	base = lines[len(lines)-1]

	ko := exec.Command(testenv.Tool(t, "ko"), "build", "--bare", "--sbom=none", "--platform=linux/amd64", "./cmd/flux-mirror")
	ko.Dir = filepath.Join("..", "..")
	ko.Env = append(os.Environ(), "DOCKER_CONFIG="+docker, "KO_DOCKER_REPO="+reg.Host+"/flux-mirror",
		"KO_DEFAULTBASEIMAGE="+base, "VERSION=v0.0.0-imagetest")
	out, err := ko.Output()
	if err != nil {
		var ee *exec.ExitError
		errors.As(err, &ee)
		t.Fatalf("ko build: %v\n%s", err, ee.Stderr)
	}
	ref := strings.TrimSpace(string(out))
	if !strings.HasPrefix(ref, reg.Host+"/flux-mirror@sha256:") {
		t.Fatalf("ko printed %q, want an image reference by digest", ref)
	}

	var cfg struct {
		Architecture string `json:"architecture"`
		Config       struct {
			Entrypoint []string `json:"Entrypoint"`
			User       string   `json:"User"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(craneDo("config", ref)), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/ko-app/flux-mirror" {
		t.Errorf("entrypoint %q, want [/ko-app/flux-mirror]", cfg.Config.Entrypoint)
	}
	if cfg.Config.User == "" || strings.HasPrefix(cfg.Config.User, "0") || strings.HasPrefix(cfg.Config.User, "root") {
		t.Errorf("user %q: the image must run as a non-root user", cfg.Config.User)
	}

	// The binary inside answers version.
	fs := filepath.Join(t.TempDir(), "fs.tar")
	craneDo("export", ref, fs)
	bin := extract(t, fs, "ko-app/flux-mirror")
	v, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(v)) != "flux-mirror: v0.0.0-imagetest" {
		t.Fatalf("version from the image: %q (%v)", v, err)
	}
}

// extract copies one file out of an image's filesystem tarball and makes it
// executable.
func extract(t *testing.T, tarball, name string) string {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s is not in the image", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "/") != name {
			continue
		}
		out := filepath.Join(t.TempDir(), filepath.Base(name))
		w, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return out
	}
}
