package cli

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var built struct {
	once sync.Once
	path string
	err  error
}

// binary builds cmd/flux-mirror once per test run.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "flux-mirror-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "flux-mirror")
		out, err := exec.Command("go", "build", "-o", built.path, "../../cmd/flux-mirror").CombinedOutput()
		if err != nil {
			built.err = err
			built.path = string(out)
		}
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.path)
	}
	return built.path
}

// kubernetesDataLayout writes files the way the kubelet mounts a ConfigMap or
// projected volume: the files live in a timestamped directory, ..data links
// to it, and each name is a link through ..data.
func kubernetesDataLayout(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	const stamp = "..2026_11_27_08_00_00.000000001"
	must(t, os.MkdirAll(filepath.Join(dir, stamp), 0o755))
	must(t, os.Symlink(stamp, filepath.Join(dir, "..data")))
	for name, content := range files {
		must(t, os.WriteFile(filepath.Join(dir, stamp, name), []byte(content), 0o644))
		must(t, os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)))
	}
}

// inPod runs the binary as a pod would see the world: no kubeconfig, the
// API server in KUBERNETES_SERVICE_HOST/PORT and the ServiceAccount's token,
// CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount, which
// a private mount namespace provides (so client-go's own in-cluster code
// reads them from the real path).
func inPod(t *testing.T, saDir, bin string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatal("the in-cluster test needs unshare (util-linux) and root: ", err)
	}
	u, err := url.Parse(env.URL)
	must(t, err)
	script := `set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/secrets/kubernetes.io/serviceaccount
cp "$SA_DIR"/token "$SA_DIR"/ca.crt "$SA_DIR"/namespace /run/secrets/kubernetes.io/serviceaccount/
exec "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", bin}, args...)...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"SA_DIR=" + saDir,
		"KUBERNETES_SERVICE_HOST=" + u.Hostname(),
		"KUBERNETES_SERVICE_PORT=" + u.Port(),
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	err = cmd.Run()
	transcript.Lock()
	transcript.outputs = append(transcript.outputs, stderr.String())
	transcript.Unlock()
	return stderr.String(), err
}

func TestSecretInCluster(t *testing.T) {
	ctx := context.Background()
	ns := grantRole(t, "flux-mirror", true, "regcreds", "default-path")
	saToken, err := env.ServiceAccountToken(ctx, ns, "flux-mirror")
	must(t, err)
	noteSecret(saToken, "ServiceAccount token")
	registryToken, err := env.ServiceAccountToken(ctx, ns, "registry-audience")
	must(t, err)
	noteSecret(registryToken, "projected registry token")

	saDir := t.TempDir()
	writeFile(t, saDir, "token", saToken)
	writeFile(t, saDir, "ca.crt", string(env.CAData))
	writeFile(t, saDir, "namespace", ns)

	t.Run("config and tokens in one projected volume", func(t *testing.T) {
		// A registry to pull from afterwards, whose password the projected
		// volume carries too (as a projected Secret would).
		reg, password, ref, digest := htpasswdRegistry(t)
		noteSecret(password, "htpasswd password")
		mount := filepath.Join(t.TempDir(), "config", "flux")
		kubernetesDataLayout(t, mount, map[string]string{
			"mirror.yaml": header + "hosts:\n- host: registry.example.com\n  username: sa-oidc\n  credential:\n    fromPath: registry-token\n" +
				"- host: " + reg.Host + "\n  username: robot\n  credential:\n    fromPath: registry-password\n",
			"registry-token":    registryToken,
			"registry-password": password,
		})
		out, err := inPod(t, saDir, binary(t), "secret", "regcreds", "-f", filepath.Join(mount, "mirror.yaml"))
		if err != nil || !strings.Contains(out, "✔ secret "+ns+"/regcreds created (2 hosts)") {
			t.Fatalf("err %v\n%s", err, out)
		}
		wantPair(t, dockerConfig(t, ns, "regcreds")["registry.example.com"], "sa-oidc", registryToken)
		// The Secret the job wrote, as a puller gets it, pulls the image.
		pullWith(t, secretDockerConfig(t, ns, "regcreds"), nil, ref, digest, "crane")
		if !strings.Contains(out, `registry.example.com: username "sa-oidc" and password, expires `) {
			t.Errorf("the projected token's expiry is not reported:\n%s", out)
		}
	})

	t.Run("default config next to the real executable", func(t *testing.T) {
		dir := t.TempDir()
		realBin := filepath.Join(dir, "bin", "flux-mirror")
		must(t, os.MkdirAll(filepath.Dir(realBin), 0o755))
		data, err := os.ReadFile(binary(t))
		must(t, err)
		must(t, os.WriteFile(realBin, data, 0o755))
		writeFile(t, filepath.Dir(realBin), "token", registryToken)
		writeFile(t, filepath.Dir(realBin), "flux-mirror.config", header+"hosts:\n- host: ghcr.io\n  credential:\n    fromPath: token\n")
		// Reached through a symlink, as in a plugin directory.
		link := filepath.Join(dir, "plugins", "flux-mirror")
		must(t, os.MkdirAll(filepath.Dir(link), 0o755))
		must(t, os.Symlink(realBin, link))

		out, err := inPod(t, saDir, link, "secret", "default-path")
		if err != nil || !strings.Contains(out, "✔ secret "+ns+"/default-path created (1 host)") {
			t.Fatalf("err %v\n%s", err, out)
		}
		if got := dockerConfig(t, ns, "default-path")["ghcr.io"]["registrytoken"]; got != registryToken {
			t.Error("the Secret does not hold the token from the default config's directory")
		}
	})
}
