package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// fluxCLI runs the real flux CLI (hack/testenv.sh builds it) with the
// plugin directory holding flux-mirror.
func fluxCLI(t *testing.T, plugins string, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(testenv.BinDir(), "flux")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the flux CLI is missing (%v): run make testenv", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "FLUXCD_PLUGINS="+plugins, "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	transcript.Lock()
	transcript.outputs = append(transcript.outputs, string(out))
	transcript.Unlock()
	return string(out), err
}

func pluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must(t, os.Symlink(binary(t), filepath.Join(dir, "flux-mirror")))
	return dir
}

func TestFluxFindsThePlugin(t *testing.T) {
	plugins := pluginDir(t)
	help, err := fluxCLI(t, plugins, "--help")
	if err != nil {
		t.Fatalf("flux --help: %v\n%s", err, help)
	}
	if !regexp.MustCompile(`(?s)Plugin Commands:\s*\n\s+mirror\s`).MatchString(help) {
		t.Errorf("flux --help does not list mirror under Plugin Commands:\n%s", help)
	}
	list, err := fluxCLI(t, plugins, "plugin", "list")
	if err != nil || !regexp.MustCompile(`(?m)^mirror\s.*manual`).MatchString(list) {
		t.Errorf("flux plugin list: %v\n%s", err, list)
	}
	version, err := fluxCLI(t, plugins, "mirror", "version")
	if err != nil || !strings.HasPrefix(version, "flux-mirror: ") {
		t.Errorf("flux mirror version: %v\n%s", err, version)
	}
}

// TestRootAcceptsEveryFluxRootFlag reads the flags of the real flux CLI's
// root from its help and checks flux-mirror's root has each one, since flux
// forwards the flags typed before "mirror".
func TestRootAcceptsEveryFluxRootFlag(t *testing.T) {
	help, err := fluxCLI(t, t.TempDir(), "--help")
	if err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand(IOStreams{})
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	flag := regexp.MustCompile(`^\s+(?:-(\w), )?--([a-z0-9-]+)`)
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(help[strings.Index(help, "\nFlags:"):]))
	for sc.Scan() {
		m := flag.FindStringSubmatch(sc.Text())
		if m == nil || m[2] == "help" {
			continue
		}
		seen++
		f := root.PersistentFlags().Lookup(m[2])
		if f == nil {
			f = root.Flags().Lookup(m[2]) // --version, local to the root as in flux
		}
		if f == nil {
			t.Errorf("flux root flag --%s is not accepted by flux-mirror", m[2])
		} else if m[1] != "" && f.Shorthand != m[1] {
			t.Errorf("flux root flag -%s/--%s: flux-mirror's shorthand is %q", m[1], m[2], f.Shorthand)
		}
	}
	if seen < 20 {
		t.Fatalf("read only %d flags from flux --help; its format changed?\n%s", seen, help)
	}
}

func TestFluxMirrorSecretThroughFlux(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, _ := staticConfig(t)
	// The kubeconfig's context points elsewhere: the namespace must come
	// from the -n that flux forwards.
	kc := kubeconfig(t, "alice", "some-other-namespace")
	out, err := fluxCLI(t, pluginDir(t), "-n", ns, "--timeout", "2m", "--kube-api-qps", "20", "--verbose",
		"mirror", "secret", "regcreds", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kc)
	if err != nil || !strings.Contains(out, "✔ secret "+ns+"/regcreds created (4 hosts)") {
		t.Fatalf("flux mirror secret: %v\n%s", err, out)
	}
	if !strings.Contains(out, "• API server https://127.0.0.1:") {
		t.Errorf("--verbose was not honoured:\n%s", out)
	}
	if len(dockerConfig(t, ns, "regcreds")) != 4 {
		t.Error("the Secret does not hold the four hosts")
	}
}
