package cli

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// header starts a v1beta1 config (most tests still write the deprecated
// version, which keeps working); headerV2 a v1beta2 one.
const (
	header   = "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\n"
	headerV2 = "apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\n"
)

// TestBadInputChangesNothing runs the secret command on bad configs and
// flags against a real API server: each exits with one ✗ line naming the
// field or flag, and no Secret appears. The config package's own tables
// cover every validation rule one by one; these prove the command wiring.
func TestBadInputChangesNothing(t *testing.T) {
	ns := grantRole(t, "alice", false)
	kc := kubeconfig(t, "alice", ns)
	good := header + "hosts:\n- host: registry.example.com\n  credential:\n    value: x\n"
	cases := []struct {
		name   string
		config string
		args   []string
		want   string
	}{
		{"unknown field", header + "hosts:\n- host: a.example.com\n  credentail:\n    value: x\n", nil, "hosts[0].credentail"},
		{"duplicate key", header + "hosts:\n- host: a.example.com\n  host: b.example.com\n", nil, "hosts[0].host"},
		{"wrong apiVersion", "apiVersion: v1\nkind: Config\n", nil, "apiVersion"},
		{"wrong kind", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Secret\n", nil, "kind"},
		{"host with scheme", header + "hosts:\n- host: https://a.example.com\n  credential:\n    value: x\n", nil, "hosts[0].host"},
		{"duplicate host", header + "hosts:\n- host: a.example.com\n  maxChunkSize: 1\n- host: a.example.com\n  maxChunkSize: 1\n", nil, "hosts[1].host"},
		{"two sources", header + "hosts:\n- host: a.example.com\n  credential:\n    value: x\n    fromPath: y\n", nil, "hosts[0].credential"},
		{"provider with username", header + "hosts:\n- host: a.example.com\n  provider: ecr\n  username: u\n", nil, "hosts[0]"},
		{"iss with value", header + "hosts:\n- host: a.example.com\n  credential:\n    value: x\n    iss: me\n", nil, "hosts[0].credential.iss"},
		{"bad exp", header + "hosts:\n- host: a.example.com\n  credential:\n    jwkPath: k\n    iss: i\n    sub: s\n    exp: soon\n", nil, "hosts[0].credential.exp"},
		{"unset variable", header + "hosts:\n- host: a.example.com\n  credential:\n    value: ${FLUX_MIRROR_TEST_UNSET}\n", nil, "FLUX_MIRROR_TEST_UNSET"},
		{"empty value", header + "hosts:\n- host: a.example.com\n  credential:\n    value: ${FLUX_MIRROR_TEST_EMPTY}\n", nil, "hosts[0].credential.value"},
		{"bad tls", header + "hosts:\n- host: a.example.com\n  tls: {}\n", nil, "hosts[0].tls"},
		{"bad artifact", header + "artifacts:\n- source: ghcr.io/a\n  destination: oci://x/y\n  selector:\n    semver: '>=1'\n", nil, "artifacts[0].destination"},
		{"bad chart", header + "charts:\n- name: podinfo\n  source: ftp://x\n  destination: oci://r/c\n", nil, "charts[0].source"},
		{"only tls hosts", header + "hosts:\n- host: a.example.com\n  maxChunkSize: 1\n", nil, "no selected host has a credential"},
		{"no hosts", header, nil, "no selected host has a credential"},
		{"bad jwk", header + "hosts:\n- host: a.example.com\n  credential:\n    jwkValue: '{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}'\n    iss: i\n    sub: s\n", nil, `host "a.example.com"`},
		{"path outside the config dir", header + "hosts:\n- host: a.example.com\n  credential:\n    fromPath: ../../../../etc/hostname\n", nil, `host "a.example.com"`},
		{"invalid secret name", good, []string{"secret", "Reg_Creds"}, `invalid Secret name "Reg_Creds"`},
		{"unknown --host", good, []string{"--host", "other.example.com"}, `--host "other.example.com"`},
		{"bad --host", good, []string{"--host", "https://x"}, `--host "https://x"`},
		{"--create with --export", good, []string{"--create", "--export"}, "--create and --export"},
		{"zero --timeout", good, []string{"--timeout", "0s"}, "--timeout"},
		{"unknown flag", good, []string{"--nope"}, "--nope"},
		{"missing config", "", []string{"-f", "/nonexistent/mirror.yaml"}, "/nonexistent/mirror.yaml"},
		{"bad namespace", good, []string{"-n", "Not_A_Namespace"}, `invalid namespace "Not_A_Namespace"`},
		{"bad namespace with --export", good, []string{"--export", "-n", "BAD_NS"}, `invalid namespace "BAD_NS"`},
		{"missing Secret name", good, []string{"secret"}, "missing the Secret name: flux-mirror secret NAME"},
		{"JWT lifetime too short", header + "hosts:\n- host: a.example.com\n  credential:\n    jwkPath: k\n    iss: i\n    sub: s\n    exp: 1ns\n", nil, "hosts[0].credential.exp: is shorter than 10s"},
	}
	t.Setenv("FLUX_MIRROR_TEST_EMPTY", "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "mirror.yaml", tc.config)
			args := []string{"secret", "regcreds", "-f", cfg, "--kubeconfig", kc}
			if len(tc.args) > 0 && tc.args[0] == "secret" {
				args = append(tc.args, args[2:]...)
			} else {
				args = append(args, tc.args...)
			}
			r := run(t, nil, args...)
			lines := failureLines(r.stderr)
			if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("want one ✗ line containing %q, got err=%v stderr:\n%s", tc.want, r.err, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q", r.stdout)
			}
			_, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				t.Fatalf("a Secret exists after bad input: %v", err)
			}
		})
	}
}
