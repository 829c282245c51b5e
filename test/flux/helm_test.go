package flux

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestHelmChartFromSyncedOCIRepository: flux-mirror sync copies the
// charts of an HTTP chart repository (nginx) into a registry with htpasswd
// auth; an OCI HelmRepository naming the Secret flux-mirror wrote from the
// same config, and a HelmChart with a version range, make
// source-controller pull the newest chart in range, the very archive the
// chart repository served.
func TestHelmChartFromSyncedOCIRepository(t *testing.T) {
	c := startCluster(t, "flux-helm")
	repo := testenv.MakeChartRepository(t,
		testenv.HelmChart{Name: "demo", Version: "1.0.0"},
		testenv.HelmChart{Name: "demo", Version: "1.2.3"},
		testenv.HelmChart{Name: "demo", Version: "2.0.0"})
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{User: "robot", Password: "chart-password-7c"})

	config := basicConfig(reg.Host) + fmt.Sprintf(`charts:
  - name: demo
    source: http://%s
    destination: oci://%s/charts
    limit: 0
`, web.Host, reg.Host)
	cfg := filepath.Join(t.TempDir(), "mirror.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	pass := "REGISTRY_PASSWORD=chart-password-7c"
	c.fluxMirror(t, []string{pass}, "sync", cfg, "--insecure")
	c.writeSecret(t, "regcreds", config, pass)

	c.create(t, helmRepositories, withSecretRef(&unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       "HelmRepository",
		"metadata":   map[string]any{"name": "mirror"},
		"spec": map[string]any{
			"type":     "oci",
			"url":      "oci://" + reg.Host + "/charts",
			"insecure": true,
			"interval": "1m",
		},
	}}, "regcreds"))
	c.create(t, helmCharts, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       "HelmChart",
		"metadata":   map[string]any{"name": "demo"},
		"spec": map[string]any{
			"chart":     "demo",
			"version":   ">=1.0.0 <2.0.0",
			"sourceRef": map[string]any{"kind": "HelmRepository", "name": "mirror"},
			"interval":  "1m",
		},
	}})
	o := c.waitReady(t, helmCharts, "demo")
	archive, err := os.ReadFile(filepath.Join(repo, "demo-1.2.3.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("sha256:%x", sha256.Sum256(archive))
	if rev, digest := artifact(o); rev != "1.2.3" || digest != want {
		t.Errorf("artifact revision %q digest %s, want 1.2.3 and %s (the archive the chart repository serves)", rev, digest, want)
	}
	if name, _, _ := unstructured.NestedString(o.Object, "status", "observedChartName"); name != "demo" {
		t.Errorf("observedChartName %q, want demo", name)
	}
}
