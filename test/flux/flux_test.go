package flux

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// flux-mirror is built once for the package, into binDir.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flux-mirror-fluxtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "flux-mirror"), "./cmd/flux-mirror")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build flux-mirror: %v\n%s", err, out)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// waitTimeout bounds how long an object may take to reach a state; the
// controller retries failures with a backoff of a few seconds at first.
const waitTimeout = 2 * time.Minute

var (
	ociRepositories  = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "ocirepositories"}
	helmRepositories = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmrepositories"}
	helmCharts       = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmcharts"}
)

// cluster is a real API server with source-controller reconciling in one
// namespace of it.
type cluster struct {
	env  *testenv.Env
	sc   *testenv.SourceController
	dyn  dynamic.Interface
	cs   kubernetes.Interface
	kc   string // admin kubeconfig, for flux-mirror secret
	ns   string
	home string // HOME of the flux-mirror runs
}

// startCluster starts etcd, kube-apiserver and source-controller and
// creates namespace ns.
func startCluster(t *testing.T, ns string) *cluster {
	t.Helper()
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Stop)
	sc := testenv.StartSourceController(t, env)
	c := &cluster{env: env, sc: sc, ns: ns, home: t.TempDir()}
	if c.dyn, err = dynamic.NewForConfig(env.Config("admin")); err != nil {
		t.Fatal(err)
	}
	if c.cs, err = kubernetes.NewForConfig(env.Config("admin")); err != nil {
		t.Fatal(err)
	}
	if c.kc, err = env.Kubeconfig("admin", ns); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// flux-mirror runs the flux-mirror binary with HOME and DOCKER_CONFIG in
// the test, the environment added, and returns its combined output; a
// failure fails the test.
func (c *cluster) fluxMirror(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "flux-mirror"), args...)
	cmd.Env = append([]string{"HOME=" + c.home, "DOCKER_CONFIG=" + c.home, "PATH=/usr/bin:/bin"}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("flux-mirror %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeSecret writes config to a file and runs `flux-mirror secret name`
// with it against the cluster, in the test's namespace.
func (c *cluster) writeSecret(t *testing.T, name, config string, env ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mirror.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fluxMirror(t, env, "secret", name, "-f", path, "--kubeconfig", c.kc, "-n", c.ns)
}

// create creates o in the test's namespace with strict field validation.
func (c *cluster) create(t *testing.T, gvr schema.GroupVersionResource, o *unstructured.Unstructured) {
	t.Helper()
	o.SetNamespace(c.ns)
	if _, err := c.dyn.Resource(gvr).Namespace(c.ns).Create(context.Background(), o,
		metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

// waitFor polls the object until done accepts it and returns it; after
// waitTimeout it fails the test with the object's conditions and the
// controller's log.
func (c *cluster) waitFor(t *testing.T, gvr schema.GroupVersionResource, name, what string, done func(*unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var last *unstructured.Unstructured
	for {
		o, err := c.dyn.Resource(gvr).Namespace(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = o
			if done(o) {
				return o
			}
		}
		select {
		case <-ctx.Done():
			var conds any
			if last != nil {
				conds, _, _ = unstructured.NestedSlice(last.Object, "status", "conditions")
			}
			t.Fatalf("%s %s: not %s within %s; conditions: %v\nsource-controller log:\n%s",
				gvr.Resource, name, what, waitTimeout, conds, c.sc.Log())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitReady waits until the object's Ready condition is True and the
// controller has finished with its current generation.
func (c *cluster) waitReady(t *testing.T, gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	t.Helper()
	return c.waitFor(t, gvr, name, "Ready", func(o *unstructured.Unstructured) bool {
		observed, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
		return testenv.HasCondition(o, "Ready", "True") && observed == o.GetGeneration()
	})
}

// waitNotReady waits until the object's Ready condition is False with a
// message holding every one of want, and returns the condition.
func (c *cluster) waitNotReady(t *testing.T, gvr schema.GroupVersionResource, name string, want ...string) metav1.Condition {
	t.Helper()
	o := c.waitFor(t, gvr, name, "failing with "+strings.Join(want, ", "), func(o *unstructured.Unstructured) bool {
		cond, ok := testenv.Condition(o, "Ready")
		if !ok || cond.Status != metav1.ConditionFalse {
			return false
		}
		for _, w := range want {
			if !strings.Contains(cond.Message, w) {
				return false
			}
		}
		return true
	})
	cond, _ := testenv.Condition(o, "Ready")
	return cond
}

// artifact returns .status.artifact's revision and digest.
func artifact(o *unstructured.Unstructured) (revision, digest string) {
	revision, _, _ = unstructured.NestedString(o.Object, "status", "artifact", "revision")
	digest, _, _ = unstructured.NestedString(o.Object, "status", "artifact", "digest")
	return revision, digest
}

// ociRepository is an OCIRepository for url (oci://host/repo) at tag,
// over plain HTTP (the loopback registries serve no TLS; insecure is the
// field Flux has for that), reconciled every 2 s.
func ociRepository(name, url, tag string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       "OCIRepository",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"url":      url,
			"ref":      map[string]any{"tag": tag},
			"insecure": true,
			"interval": "2s",
		},
	}}
}

// withSecretRef sets .spec.secretRef of o.
func withSecretRef(o *unstructured.Unstructured, secret string) *unstructured.Unstructured {
	_ = unstructured.SetNestedField(o.Object, map[string]any{"name": secret}, "spec", "secretRef")
	return o
}
