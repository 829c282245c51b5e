package kube

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start kube-apiserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	env.Stop()
	os.Exit(code)
}

// admin is a full clientset for arranging and inspecting the cluster; the
// code under test never uses it.
func admin(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config("admin"))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

var nsSeq atomic.Int32

// namespaceWithRole creates a namespace holding the documented Role
// (examples/cluster/rbac.yaml: get and update on the Secret regcreds,
// create on secrets) bound to user.
func namespaceWithRole(t *testing.T, user string) string {
	t.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("kube-test-%d", nsSeq.Add(1))
	if _, err := admin(t).CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	subject := rbacv1.Subject{Kind: rbacv1.UserKind, Name: user, APIGroup: rbacv1.GroupName}
	if err := env.GrantSecretRole(ctx, ns, subject); err != nil {
		t.Fatal(err)
	}
	return ns
}

// countingClient returns a SecretClient for user whose requests are counted.
func countingClient(t *testing.T, user, ns string) (*SecretClient, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	cfg := env.Config(user)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return rt.RoundTrip(r)
		})
	})
	c, err := NewSecretClient(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUpsertCreatesThenReplacesWithTheDocumentedRole(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	c, calls := countingClient(t, "alice", ns)
	ctx := context.Background()

	op, err := c.UpsertSecret(ctx, "regcreds", []byte(`{"auths":{"a":{}}}`), Stamp{}, false)
	if err != nil || op != Created {
		t.Fatalf("first upsert: op=%q err=%v", op, err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("create took %d API requests, want 2 (get, create)", got)
	}
	s := getSecret(t, ns, "regcreds")
	if s.Type != corev1.SecretTypeDockerConfigJson || string(s.Data[corev1.DockerConfigJsonKey]) != `{"auths":{"a":{}}}` {
		t.Fatalf("created secret: type %q data %q", s.Type, s.Data)
	}

	calls.Store(0)
	op, err = c.UpsertSecret(ctx, "regcreds", []byte(`{"auths":{"b":{}}}`), Stamp{}, false)
	if err != nil || op != Replaced {
		t.Fatalf("second upsert: op=%q err=%v", op, err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("replace took %d API requests, want 2 (get, update)", got)
	}
	if got := string(getSecret(t, ns, "regcreds").Data[corev1.DockerConfigJsonKey]); got != `{"auths":{"b":{}}}` {
		t.Errorf("replaced data = %s", got)
	}

	calls.Store(0)
	op, err = c.UpsertSecret(ctx, "fresh", []byte(`{"auths":{"c":{}}}`), Stamp{}, true)
	if err != nil || op != Created {
		t.Fatalf("--create on a new name: op=%q err=%v", op, err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("--create took %d API requests, want 1", got)
	}
}

func TestUpsertWithoutTheRoleIsAPermissionError(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	c, _ := countingClient(t, "bob", ns)
	for createOnly, verb := range map[bool]string{false: "get", true: "create"} {
		_, err := c.UpsertSecret(context.Background(), "regcreds", []byte(`{}`), Stamp{}, createOnly)
		if err == nil || !strings.HasPrefix(err.Error(), verb+" secret "+ns+"/regcreds: permission denied") ||
			!strings.Contains(err.Error(), "flux-mirror-secret in examples/cluster/rbac.yaml") {
			t.Errorf("createOnly=%v: err = %v, want a permission error on %s naming the verbs needed", createOnly, err, verb)
		}
	}
}

func TestReplaceKeepsMetadataAndOtherKeys(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	cs := admin(t)
	ctx := context.Background()
	orig := NewDockerConfigSecret(ns, "regcreds", []byte(`{"auths":{"old.example.com":{"auth":"eDp5"},"gone.example.com":{}}}`), Stamp{})
	orig.Labels = map[string]string{"team": "a"}
	orig.Annotations = map[string]string{"note": "keep me"}
	orig.Data["extra"] = []byte("kept")
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, asCore(t, orig), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, _ := countingClient(t, "alice", ns)
	if _, err := c.UpsertSecret(ctx, "regcreds", []byte(`{"auths":{"new.example.com":{}}}`), Stamp{}, false); err != nil {
		t.Fatal(err)
	}
	s := getSecret(t, ns, "regcreds")
	if s.Labels["team"] != "a" || s.Annotations["note"] != "keep me" {
		t.Errorf("labels %v annotations %v not kept", s.Labels, s.Annotations)
	}
	if string(s.Data["extra"]) != "kept" {
		t.Errorf("other data key lost: %q", s.Data)
	}
	if got := string(s.Data[corev1.DockerConfigJsonKey]); got != `{"auths":{"new.example.com":{}}}` {
		t.Errorf(".dockerconfigjson not replaced whole: %s", got)
	}
}

func TestCreateOnlyLeavesAnExistingSecretUntouched(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	ctx := context.Background()
	before, err := admin(t).CoreV1().Secrets(ns).Create(ctx, asCore(t, NewDockerConfigSecret(ns, "regcreds", []byte(`{"auths":{}}`), Stamp{})), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := countingClient(t, "alice", ns)
	_, err = c.UpsertSecret(ctx, "regcreds", []byte(`{"auths":{"x":{}}}`), Stamp{}, true)
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "--create") {
		t.Fatalf("err = %v, want already exists with a hint about --create", err)
	}
	if after := getSecret(t, ns, "regcreds"); after.ResourceVersion != before.ResourceVersion {
		t.Errorf("secret changed: resourceVersion %s -> %s", before.ResourceVersion, after.ResourceVersion)
	}
}

func TestIrreplaceableSecretsAreReportedAndUntouched(t *testing.T) {
	immutable := true
	cases := map[string]*corev1.Secret{
		"opaque": {
			ObjectMeta: metav1.ObjectMeta{Name: "regcreds"},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{"k": []byte("v")},
		},
		"immutable": func() *corev1.Secret {
			s := asCore(t, NewDockerConfigSecret("", "regcreds", []byte(`{"auths":{}}`), Stamp{}))
			s.Immutable = &immutable
			return s
		}(),
	}
	want := map[string]string{"opaque": `has type "Opaque"`, "immutable": "is immutable"}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			ns := namespaceWithRole(t, "alice")
			ctx := context.Background()
			s.Namespace = ns
			before, err := admin(t).CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c, calls := countingClient(t, "alice", ns)
			_, err = c.UpsertSecret(ctx, "regcreds", []byte(`{"auths":{"x":{}}}`), Stamp{}, false)
			if err == nil || !strings.Contains(err.Error(), want[name]) {
				t.Fatalf("err = %v, want it to say %q", err, want[name])
			}
			if calls.Load() != 1 {
				t.Errorf("%d API requests, want 1 (the get): a refusal must not retry", calls.Load())
			}
			if after := getSecret(t, ns, "regcreds"); after.ResourceVersion != before.ResourceVersion {
				t.Errorf("secret changed")
			}
		})
	}
}

func TestUpsertInAMissingNamespaceSaysSo(t *testing.T) {
	c, _ := countingClient(t, "admin", "no-such-namespace")
	_, err := c.UpsertSecret(context.Background(), "regcreds", []byte(`{}`), Stamp{}, false)
	if err == nil || !strings.Contains(err.Error(), `does namespace "no-such-namespace" exist`) {
		t.Fatalf("err = %v", err)
	}
	if !apierrors.IsNotFound(err) {
		t.Errorf("the API error is not kept in the chain: %v", err)
	}
}
