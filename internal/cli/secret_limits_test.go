package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/kube"
)

// wantRefused is wantFailure that also wants nothing on stdout and no
// Secret regcreds in ns ("" when the run had no cluster).
func wantRefused(t *testing.T, r result, ns string, want ...string) {
	t.Helper()
	wantFailure(t, r, want...)
	if r.stdout != "" {
		t.Errorf("stdout = %q", r.stdout)
	}
	if ns == "" {
		return
	}
	if _, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was written: %v", err)
	}
}

// TestExportValidatesNamesLikeAWrite runs --export with a namespace and
// a Secret name the API server would refuse: both are refused as without
// --export, before anything is minted.
func TestExportValidatesNamesLikeAWrite(t *testing.T) {
	cfg := mirrorConfig(t, "- host: ghcr.io\n  credential:\n    value: export-token-1c9e\n")
	noteSecret("export-token-1c9e", "export value")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"secret", "regcreds", "--export", "-n", "BAD_NS"}, `-n/--namespace: invalid namespace "BAD_NS"`},
		{[]string{"secret", "regcreds", "--export", "-n", strings.Repeat("a", 64)}, "invalid namespace"},
		{[]string{"secret", "Reg_Creds", "--export", "-n", "flux-system"}, `invalid Secret name "Reg_Creds"`},
	} {
		r := run(t, nil, append(tc.args, "-f", cfg)...)
		wantRefused(t, r, "", tc.want)
		if strings.Contains(r.stderr, "minting") {
			t.Errorf("%v: minted before refusing:\n%s", tc.args, r.stderr)
		}
	}
}

// TestMissingSecretNameSaysHowToCallIt runs secret without a name.
func TestMissingSecretNameSaysHowToCallIt(t *testing.T) {
	wantRefused(t, run(t, nil, "secret", "--export"), "", "missing the Secret name: flux-mirror secret NAME")
	wantRefused(t, run(t, nil, "secret", "a", "b", "--export"), "", "one Secret name expected, got 2 arguments")
}

// bigTokens writes a config of n hosts whose file tokens hold size bytes
// each.
func bigTokens(t *testing.T, n, size int) string {
	t.Helper()
	dir := t.TempDir()
	var hosts strings.Builder
	for i := range n {
		token := fmt.Sprintf("%d-%s", i, strings.Repeat("x", size))
		noteSecret(token, "big token")
		writeFile(t, dir, fmt.Sprintf("token-%d", i), token)
		fmt.Fprintf(&hosts, "- host: r%d.example.com\n  credential:\n    fromPath: token-%d\n", i, i)
	}
	return writeFile(t, dir, "mirror.yaml", header+"hosts:\n"+hosts.String())
}

// TestSecretOverTheLimitIsRefusedBeforeWriting mints two tokens of 600 kB:
// together over Kubernetes' 1 MiB, so neither --export nor a write goes
// ahead, and the line says how to split the hosts.
func TestSecretOverTheLimitIsRefusedBeforeWriting(t *testing.T) {
	ns := grantRole(t, "alice", false)
	cfg := bigTokens(t, 2, 600_000)
	want := []string{"over Kubernetes' limit of 1048576 bytes", "split the 2 hosts over several Secrets", "--host"}
	wantRefused(t, run(t, nil, "secret", "regcreds", "--export", "-f", cfg), "", want...)
	wantRefused(t, run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns)), ns, want...)
	if got := verbs(t, "alice", ns); got != "" {
		t.Errorf("the API server saw %q, want no request", got)
	}
	// One of them fits.
	if r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns), "--host", "r0.example.com"); r.err != nil {
		t.Fatalf("one host: %s", r.stderr)
	}
}

// TestSecretRefusesATokenWithControlBytes writes a token file with a line
// break inside: the run fails naming host and source, and writes nothing.
func TestSecretRefusesATokenWithControlBytes(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir := t.TempDir()
	writeFile(t, dir, "token", "ctl-token-4a7f\nsecond-line")
	noteSecret("ctl-token-4a7f", "token with a line break")
	cfg := writeFile(t, dir, "mirror.yaml", header+"hosts:\n- host: ghcr.io\n  credential:\n    fromPath: token\n")
	wantRefused(t, run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns)), ns,
		`host "ghcr.io": the token from credential.fromPath "token" holds a line break`)
}

// TestSecretLifetimes signs one JWT of a minute and one of two days: the
// first is refused below 10s, the minute warns that it expires soon after
// the write, the two days warn about a leak, and the Secret says when and
// for which host its first credential expires.
func TestSecretLifetimes(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, _ := staticConfig(t)
	jwk := func(host, exp string) string {
		return fmt.Sprintf("- host: %s\n  username: u\n  credential:\n    jwkPath: keys/privkey.json\n    iss: https://issuer.example.com\n    sub: s\n    exp: %s\n", host, exp)
	}
	kc := kubeconfig(t, "alice", ns)

	short := writeFile(t, dir, "short.yaml", header+"hosts:\n"+jwk("short.example.com", "1ns"))
	wantRefused(t, run(t, nil, "secret", "regcreds", "-f", short, "--kubeconfig", kc), ns, "hosts[0].credential.exp: is shorter than 10s")

	cfg := writeFile(t, dir, "lifetimes.yaml", header+"hosts:\n"+jwk("minute.example.com", "1m")+jwk("days.example.com", "48h"))
	start := time.Now()
	r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kc)
	if r.err != nil {
		t.Fatal(r.stderr)
	}
	wantLines(t, r.stderr,
		"⚠️ days.example.com: a credential lifetime (exp, or expiration in v1beta2) of 48h0m0s signs JWTs valid for more than 24h0m0s",
		"⚠️ minute.example.com: the credential expires at ",
	)
	if strings.Contains(r.stderr, "⚠️ days.example.com: the credential expires") {
		t.Errorf("a two-day credential was reported as expiring soon:\n%s", r.stderr)
	}
	for host, pw := range dockerConfig(t, ns, "regcreds") {
		noteSecret(pw["password"], "JWT of "+host)
	}

	s, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	must(t, err)
	a := s.Annotations
	expires, err := time.Parse(time.RFC3339, a[kube.AnnotationExpiresAt])
	must(t, err)
	written, err := time.Parse(time.RFC3339, a[kube.AnnotationWrittenAt])
	must(t, err)
	if a[kube.AnnotationExpiresHost] != "minute.example.com" || expires.Sub(written) > time.Minute+time.Second {
		t.Errorf("annotations %v: want the minute JWT's expiry and host", a)
	}
	if written.Before(start.Truncate(time.Second)) || written.After(time.Now()) {
		t.Errorf("written-at %s is not the time of the run", written)
	}
}

// TestSecretWriteTimeoutNamesTheFlag writes to an API server that accepts
// connections and never answers: the run ends at --timeout and says so.
func TestSecretWriteTimeoutNamesTheFlag(t *testing.T) {
	cfg := mirrorConfig(t, "- host: ghcr.io\n  credential:\n    value: "+randomSecret(t, "timeout-token")+"\n")
	kc := kubeconfig(t, "alice", "default")
	r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kc, "--server", "https://"+fakecloud.Dead(t), "--timeout", "500ms")
	wantRefused(t, r, "", "writing the Secret timed out after 500ms (--timeout")
}

// TestSecretNameOutsideTheRole writes a Secret the Role does not name: the
// 403 says which rule of which Role to widen.
func TestSecretNameOutsideTheRole(t *testing.T) {
	ns := grantRole(t, "alice", false)
	cfg := mirrorConfig(t, "- host: ghcr.io\n  credential:\n    value: "+randomSecret(t, "role-token")+"\n")
	r := run(t, nil, "secret", "other-creds", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	wantRefused(t, r, ns, "get secret "+ns+"/other-creds: permission denied",
		`add "other-creds" to resourceNames of the get/update rule of its Role (flux-mirror-secret in examples/cluster/rbac.yaml)`)
	if _, err := os.Stat(filepath.Join("..", "..", "examples", "cluster", "rbac.yaml")); err != nil {
		t.Errorf("the message points at a Role example that is gone: %v", err)
	}
}
