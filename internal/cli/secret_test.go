package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

func admin(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config("admin"))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

var nsSeq atomic.Int32

// grantRole creates a namespace with the documented Role
// (examples/cluster/rbac.yaml: get and update on the Secret regcreds,
// create on secrets) bound to subject (a user, or a ServiceAccount of that
// namespace when sa is true). names, when given, replace regcreds as the
// Secrets the Role lets it read and replace.
func grantRole(t *testing.T, subject string, sa bool, names ...string) string {
	t.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("cli-test-%d", nsSeq.Add(1))
	must(t, create(admin(t).CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})))
	s := rbacv1.Subject{Kind: rbacv1.UserKind, Name: subject, APIGroup: rbacv1.GroupName}
	if sa {
		s = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: subject, Namespace: ns}
	}
	must(t, env.GrantSecretRole(ctx, ns, s, names...))
	return ns
}

func create[T any](_ T, err error) error { return err }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// kubeconfig returns a kubeconfig for user whose context namespace is ns.
func kubeconfig(t *testing.T, user, ns string) string {
	t.Helper()
	p, err := env.Kubeconfig(user, ns)
	must(t, err)
	return p
}

// dockerConfig reads back the Secret's Docker config.
func dockerConfig(t *testing.T, ns, name string) map[string]map[string]string {
	t.Helper()
	s, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	must(t, err)
	if s.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("type %q", s.Type)
	}
	var cfg struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	must(t, json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg))
	return cfg.Auths
}

// staticConfig writes a config with one host per static source, and a
// key pair made by the keygen command, into a new directory.
// staticV1beta2 is the config of most secret tests: a host of each static
// kind, a signed JWT, Docker Hub and a host with TLS only.
const staticV1beta2 = `apiVersion: mirror.plugin.fluxcd.io/v1beta2
kind: Config
hosts:
  - host: registry.example.com
    credential:
      type: jwt
      username: robot
      value: ${TEST_REGISTRY_TOKEN}
  - host: localhost:5000
    credential:
      type: jwt
      fromPath: token
  - host: jwt.example.com
    credential:
      type: jwt
      username: signer
      jwkPath: keys/privkey.json
      issuer: https://issuer.example.com
      subject: system:serviceaccount:ci:builder
      audiences: [jwt-audience]
      expiration: 5m
  - host: docker.io
    credential:
      type: jwt
      username: hubuser
      value: ${TEST_REGISTRY_TOKEN}
  - host: tls-only.example.com
    tls:
      serverAuth:
        value: |
          -----BEGIN CERTIFICATE-----
          MIIBszCCAVmgAwIBAgIUAAAAAAAAAAAAAAAAAAAAAAAAAAAwCgYIKoZIzj0EAwIw
          -----END CERTIFICATE-----
`

// staticV1beta1 is staticV1beta2 written in the deprecated version.
const staticV1beta1 = `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: registry.example.com
    username: robot
    credential:
      value: ${TEST_REGISTRY_TOKEN}
  - host: localhost:5000
    credential:
      fromPath: token
  - host: jwt.example.com
    username: signer
    credential:
      jwkPath: keys/privkey.json
      iss: https://issuer.example.com
      sub: system:serviceaccount:ci:builder
      aud: jwt-audience
      exp: 5m
  - host: docker.io
    username: hubuser
    credential:
      value: ${TEST_REGISTRY_TOKEN}
  - host: tls-only.example.com
    tls:
      serverAuth:
        value: |
          -----BEGIN CERTIFICATE-----
          MIIBszCCAVmgAwIBAgIUAAAAAAAAAAAAAAAAAAAAAAAAAAAwCgYIKoZIzj0EAwIw
          -----END CERTIFICATE-----
`

// staticConfig writes staticV1beta2 as mirror.yaml (and staticV1beta1 as
// mirror-v1beta1.yaml) with the files they name, and returns the directory
// and the public key that verifies the signed JWT.
func staticConfig(t *testing.T) (dir string, pub string) {
	t.Helper()
	dir = t.TempDir()
	if r := run(t, nil, "keygen", "-o", filepath.Join(dir, "keys"), "--type", "ecdsa-p256"); r.err != nil {
		t.Fatal(r.stderr)
	}
	priv, err := os.ReadFile(filepath.Join(dir, "keys", "privkey.json"))
	must(t, err)
	noteSecret(string(priv), "privkey.json")
	writeFile(t, dir, "token", "  file-token-0f6c2a  \n")
	noteSecret("file-token-0f6c2a", "fromPath token")
	noteSecret("value-token-7d1e9b", "value token")
	t.Setenv("TEST_REGISTRY_TOKEN", "value-token-7d1e9b")
	writeFile(t, dir, "mirror.yaml", staticV1beta2)
	writeFile(t, dir, "mirror-v1beta1.yaml", staticV1beta1)
	return dir, filepath.Join(dir, "keys", "pubkey.json")
}

func TestSecretCreatesThenReplaces(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, pub := staticConfig(t)
	kc := kubeconfig(t, "alice", ns)
	args := []string{"secret", "regcreds", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kc}

	r := run(t, nil, args...)
	if r.err != nil {
		t.Fatalf("secret: %v\n%s", r.err, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
	for _, want := range []string{
		"• skipping tls-only.example.com:",
		"✔ secret " + ns + "/regcreds created (4 hosts)",
		"⚠️ localhost:5000 gets a bearer token",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	auths := dockerConfig(t, ns, "regcreds")
	if len(auths) != 4 {
		t.Fatalf("auths has %d entries, want 4: %v", len(auths), keys(auths))
	}
	wantPair(t, auths["registry.example.com"], "robot", "value-token-7d1e9b")
	wantPair(t, auths["https://index.docker.io/v1/"], "hubuser", "value-token-7d1e9b")
	if got := auths["localhost:5000"]; got["registrytoken"] != "file-token-0f6c2a" || len(got) != 1 {
		t.Errorf("bearer entry = %v", got)
	}
	jwtEntry := auths["jwt.example.com"]
	noteSecret(jwtEntry["password"], "signed JWT")
	verifyJWT(t, jwtEntry["password"], pub, "jwt-audience", 5*time.Minute)

	r = run(t, nil, args...)
	if r.err != nil || !strings.Contains(r.stderr, "✔ secret "+ns+"/regcreds replaced (4 hosts)") {
		t.Fatalf("second run: %v\n%s", r.err, r.stderr)
	}
	if got := verbs(t, "alice", ns); got != "get create get update" {
		t.Errorf("the API server saw %q, want exactly get create (first run) and get update (second)", got)
	}
	again := dockerConfig(t, ns, "regcreds")["jwt.example.com"]["password"]
	noteSecret(again, "second signed JWT")
	if again == jwtEntry["password"] {
		t.Error("the second run did not sign a fresh JWT")
	}
}

// verbs lists, in order, the verbs of the requests user sent into namespace
// ns, as the API server's audit log recorded them.
func verbs(t *testing.T, user, ns string) string {
	t.Helper()
	reqs, err := env.Requests(user)
	must(t, err)
	var out []string
	for _, r := range reqs {
		if strings.Contains(r.RequestURI, "/namespaces/"+ns+"/") {
			out = append(out, r.Verb)
		}
	}
	return strings.Join(out, " ")
}

func wantPair(t *testing.T, e map[string]string, user, pass string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	if e["username"] != user || e["password"] != pass || e["auth"] != auth || len(e) != 3 {
		t.Errorf("entry for %s: got keys %v, want username, password and auth", user, keys(e))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// verifyJWT checks a token signed from jwkPath with the pubkey.json keygen
// wrote, and its claims.
func verifyJWT(t *testing.T, token, pubPath, aud string, lifetime time.Duration) {
	t.Helper()
	raw, err := os.ReadFile(pubPath)
	must(t, err)
	var set jose.JSONWebKeySet
	must(t, json.Unmarshal(raw, &set))
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	must(t, err)
	var c jwt.Claims
	must(t, tok.Claims(set.Keys[0].Key, &c))
	if tok.Headers[0].KeyID != set.Keys[0].KeyID {
		t.Errorf("kid %q, want %q", tok.Headers[0].KeyID, set.Keys[0].KeyID)
	}
	must(t, c.ValidateWithLeeway(jwt.Expected{
		Issuer: "https://issuer.example.com", Subject: "system:serviceaccount:ci:builder",
		AnyAudience: jwt.Audience{aud}, Time: time.Now(),
	}, 0))
	if got := c.Expiry.Time().Sub(c.IssuedAt.Time()); got != lifetime {
		t.Errorf("exp - iat = %s, want %s", got, lifetime)
	}
	if got := c.IssuedAt.Time().Sub(c.NotBefore.Time()); got != 30*time.Second {
		t.Errorf("iat - nbf = %s, want 30s", got)
	}
	if c.ID == "" {
		t.Error("no jti")
	}
}

func TestSecretNeedsTheRole(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, _ := staticConfig(t)
	r := run(t, nil, "secret", "regcreds", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kubeconfig(t, "bob", ns))
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "permission denied") {
		t.Fatalf("err %v, stderr:\n%s", r.err, r.stderr)
	}
}

func TestSecretIsAllOrNothing(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, _ := staticConfig(t)
	kc := kubeconfig(t, "alice", ns)
	cfg := filepath.Join(dir, "mirror.yaml")
	if r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kc); r.err != nil {
		t.Fatal(r.stderr)
	}
	before, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	must(t, err)

	must(t, os.Remove(filepath.Join(dir, "token")))
	r := run(t, nil, "secret", "regcreds", "-f", cfg, "--kubeconfig", kc)
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], `host "localhost:5000"`) {
		t.Fatalf("want one ✗ line naming the host, got:\n%s", r.stderr)
	}
	after, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	must(t, err)
	if after.ResourceVersion != before.ResourceVersion {
		t.Error("the Secret changed although a host failed")
	}
}

func TestSecretHostSelection(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, _ := staticConfig(t)
	r := run(t, nil, "secret", "regcreds", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kubeconfig(t, "alice", ns),
		"--host", "registry.example.com", "--host", "index.docker.io", "--host", "registry.example.com")
	if r.err != nil {
		t.Fatal(r.stderr)
	}
	auths := dockerConfig(t, ns, "regcreds")
	if len(auths) != 2 || auths["registry.example.com"] == nil || auths["https://index.docker.io/v1/"] == nil {
		t.Errorf("auths = %v", keys(auths))
	}
	if strings.Contains(r.stderr, "⚠️") {
		t.Errorf("no bearer host was selected, yet a warning:\n%s", r.stderr)
	}
}

func TestSecretCreateFlag(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, _ := staticConfig(t)
	args := []string{"secret", "regcreds", "--create", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kubeconfig(t, "alice", ns)}
	if r := run(t, nil, args...); r.err != nil || !strings.Contains(r.stderr, "created") {
		t.Fatalf("first --create: %s", r.stderr)
	}
	before, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	must(t, err)
	r := run(t, nil, args...)
	if lines := failureLines(r.stderr); r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "already exists") {
		t.Fatalf("second --create:\n%s", r.stderr)
	}
	after, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	must(t, err)
	if after.ResourceVersion != before.ResourceVersion {
		t.Error("--create changed an existing Secret")
	}
	if got := verbs(t, "alice", ns); got != "create create" {
		t.Errorf("the API server saw %q, want one create per --create run", got)
	}
}

// TestSecretConcurrentRuns runs 50 secret commands at once on one Secret:
// conflicts are retried until --timeout, so every run succeeds and the
// Secret holds one whole Docker config.
func TestSecretConcurrentRuns(t *testing.T) {
	ns := grantRole(t, "alice", false)
	dir, _ := staticConfig(t)
	args := []string{"secret", "regcreds", "-f", filepath.Join(dir, "mirror.yaml"), "--kubeconfig", kubeconfig(t, "alice", ns)}
	// 50 at once: more than a fixed count of conflict retries survives;
	// they are retried until the write deadline.
	var wg sync.WaitGroup
	results := make([]result, 50)
	for i := range results {
		wg.Go(func() { results[i] = run(t, nil, args...) })
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Errorf("run %d: %s", i, r.stderr)
		}
	}
	auths := dockerConfig(t, ns, "regcreds")
	if len(auths) != 4 {
		t.Errorf("final Secret has %d entries", len(auths))
	}
	noteSecret(auths["jwt.example.com"]["password"], "concurrently signed JWT")
}

func TestSecretTimeout(t *testing.T) {
	ns := grantRole(t, "alice", false)
	cfg, _ := slowConfig(t)
	start := time.Now()
	r := run(t, nil, "secret", "regcreds", "--timeout", "500ms", "-f", cfg, "--kubeconfig", kubeconfig(t, "alice", ns))
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 || !strings.Contains(lines[0], "timed out after 500ms") || !strings.Contains(lines[0], "slow.example.com") {
		t.Fatalf("want one ✗ line naming the host and the timeout, got:\n%s", r.stderr)
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Fatalf("returned after %s: the deadline was not enforced", elapsed)
	}
	_, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("a Secret was written: %v", err)
	}
}
