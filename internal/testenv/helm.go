package testenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// HelmChart is a chart the test kit writes and packages with the real
// helm CLI.
type HelmChart struct {
	Name, Version string
	// Description lands in Chart.yaml (and so in the OCI config blob).
	Description string
	// Padding adds a file of this many incompressible bytes, seeded by
	// the version, to make the archive that large.
	Padding int
}

// Helm runs the real helm CLI with args in a private Helm home (config,
// cache and data under dir) and returns its combined output; a failure
// fails the test. env adds variables.
func Helm(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Tool(t, "helm"), args...)
	cmd.Env = append(os.Environ(), HelmHome(dir)...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// HelmHome is the environment that keeps helm's files under dir.
func HelmHome(dir string) []string {
	return []string{
		"HELM_CONFIG_HOME=" + filepath.Join(dir, "helm-config"),
		"HELM_CACHE_HOME=" + filepath.Join(dir, "helm-cache"),
		"HELM_DATA_HOME=" + filepath.Join(dir, "helm-data"),
		"HELM_REPOSITORY_CONFIG=" + filepath.Join(dir, "helm-config", "repositories.yaml"),
	}
}

// MakeChartRepository packages charts with `helm package` into a new
// directory and indexes it with `helm repo index`, as a chart repository
// is published; it returns the directory (serve it with StartNginxStatic).
// Archives are named as helm names them: NAME-VERSION.tgz.
func MakeChartRepository(t testing.TB, charts ...HelmChart) string {
	t.Helper()
	work, repo := t.TempDir(), t.TempDir()
	for _, c := range charts {
		PackageChart(t, work, repo, c)
	}
	Helm(t, work, nil, "repo", "index", repo)
	return repo
}

// PackageChart writes chart c under work and packages it into out with
// `helm package`, returning the archive's path.
func PackageChart(t testing.TB, work, out string, c HelmChart) string {
	t.Helper()
	src := filepath.Join(work, "src", c.Name+"-"+c.Version, c.Name)
	noErr(t, os.MkdirAll(filepath.Join(src, "templates"), 0o755))
	desc := c.Description
	if desc == "" {
		desc = "A chart of the flux-mirror tests"
	}
	writeTestFile(t, filepath.Join(src, "Chart.yaml"), fmt.Sprintf(
		"apiVersion: v2\nname: %s\nversion: %s\ndescription: %s\ntype: application\nappVersion: \"1.0\"\nmaintainers:\n- name: Flux\n  email: flux@example.com\n", c.Name, c.Version, desc))
	writeTestFile(t, filepath.Join(src, "templates", "configmap.yaml"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n")
	if c.Padding > 0 {
		r := rand.New(rand.NewPCG(uint64(len(c.Version)), uint64(c.Padding)^hash(c.Version)))
		b := make([]byte, c.Padding)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		noErr(t, os.WriteFile(filepath.Join(src, "padding.bin"), b, 0o644))
	}
	noErr(t, os.MkdirAll(out, 0o755))
	Helm(t, work, nil, "package", src, "--destination", out)
	return filepath.Join(out, c.Name+"-"+c.Version+".tgz")
}

func hash(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
