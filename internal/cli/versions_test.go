package cli

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestSameConfigInBothVersions: the same config written in v1beta1 and in
// v1beta2 gives byte-identical secret --export output and Docker configs
// from login (the signed JWT, which carries its own time and ID, is
// compared by its claims), and only the v1beta1 run warns, once, saying
// what to rename.
func TestSameConfigInBothVersions(t *testing.T) {
	isolate(t, false)
	dir, pub := staticConfig(t)
	v2, v1 := filepath.Join(dir, "mirror.yaml"), filepath.Join(dir, "mirror-v1beta1.yaml")
	static := []string{"--host", "registry.example.com", "--host", "localhost:5000", "--host", "docker.io"}

	a := run(t, nil, append([]string{"secret", "regcreds", "--export", "-f", v2}, static...)...)
	b := run(t, nil, append([]string{"secret", "regcreds", "--export", "-f", v1}, static...)...)
	if a.err != nil || b.err != nil {
		t.Fatalf("export: %v / %v\n%s\n%s", a.err, b.err, a.stderr, b.stderr)
	}
	if a.stdout != b.stdout {
		t.Errorf("secret --export differs between the versions:\n--- v1beta2\n%s\n--- v1beta1\n%s", a.stdout, b.stdout)
	}
	if strings.Contains(a.stderr, "deprecated") {
		t.Errorf("v1beta2 run warned:\n%s", a.stderr)
	}
	if n := strings.Count(b.stderr, "deprecated"); n != 1 ||
		!strings.Contains(b.stderr, "hosts[].username moves to hosts[].credential.username") {
		t.Errorf("v1beta1 run: want one deprecation warning naming the username move:\n%s", b.stderr)
	}

	// The signed JWT: the same claims from both.
	for _, cfg := range []string{v1, v2} {
		r := run(t, nil, "secret", "regcreds", "--export", "-f", cfg, "--host", "jwt.example.com")
		if r.err != nil {
			t.Fatalf("%s: %v\n%s", cfg, r.err, r.stderr)
		}
		verifyJWT(t, exportedPassword(t, r.stdout, "jwt.example.com"), pub, "jwt-audience", 5*time.Minute)
	}

	// login writes the same Docker config from both.
	var configs []string
	for _, cfg := range []string{v2, v1} {
		docker := filepath.Join(t.TempDir(), "docker")
		login(t, append([]string{"-f", cfg, "--docker-config", docker}, static...)...)
		raw, err := os.ReadFile(filepath.Join(docker, "config.json"))
		must(t, err)
		configs = append(configs, string(raw))
	}
	if configs[0] != configs[1] {
		t.Errorf("login's Docker config differs:\n--- v1beta2\n%s\n--- v1beta1\n%s", configs[0], configs[1])
	}
}

// exportedPassword is the password of host in an exported Secret.
func exportedPassword(t *testing.T, secretYAML, host string) string {
	t.Helper()
	var s struct {
		Data map[string]string `json:"data"`
	}
	must(t, yaml.Unmarshal([]byte(secretYAML), &s))
	raw, err := base64.StdEncoding.DecodeString(s.Data[".dockerconfigjson"])
	must(t, err)
	var dc struct {
		Auths map[string]struct {
			Password string `json:"password"`
		} `json:"auths"`
	}
	must(t, json.Unmarshal(raw, &dc))
	return dc.Auths[host].Password
}
