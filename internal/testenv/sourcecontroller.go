package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// SourceController is Flux's source-controller running as a process
// against an Env's API server, with its artifact storage and server on
// loopback.
type SourceController struct {
	// StorageDir holds the artifacts it stores.
	StorageDir string
	// StorageAddr is the artifact server's 127.0.0.1:PORT.
	StorageAddr string
	proc        *process
}

// crdResource is the resource of CustomResourceDefinitions.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// StartSourceController applies the CRDs hack/testenv.sh copied from the
// source-controller module next to its binary (source-controller.crds/) to
// env's API server, waits until they are established, starts the
// controller as admin watching every namespace, and waits until it is
// healthy. It stops when the test ends; register env.Stop with t.Cleanup
// before calling it, so the controller is stopped first. A missing binary
// or CRD directory fails the test.
func StartSourceController(t testing.TB, env *Env) *SourceController {
	t.Helper()
	bin := Tool(t, "source-controller")
	crds, err := filepath.Glob(filepath.Join(BinDir(), "source-controller.crds", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("testenv: no source-controller CRDs in %s: run `hack/testenv.sh sourcecontroller`",
			filepath.Join(BinDir(), "source-controller.crds"))
	}
	dyn, err := dynamic.NewForConfig(env.Config(adminUser))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for _, path := range crds {
		if err := applyCRD(ctx, dyn, path); err != nil {
			t.Fatalf("testenv: %s: %v", filepath.Base(path), err)
		}
	}
	kc, err := env.Kubeconfig(adminUser, "")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sc := &SourceController{StorageDir: filepath.Join(dir, "storage"), StorageAddr: "127.0.0.1:" + strconv.Itoa(ports[0])}
	health := "127.0.0.1:" + strconv.Itoa(ports[2])
	// It refuses a storage path that does not exist.
	if err := os.Mkdir(sc.StorageDir, 0o700); err != nil {
		t.Fatal(err)
	}
	p, err := startProcessEnv("source-controller", bin, filepath.Join(dir, "source-controller.log"),
		// HOME keeps the caches of the libraries it links (cosign's) in the test.
		[]string{"KUBECONFIG=" + kc, "RUNTIME_NAMESPACE=flux-system", "HOME=" + dir},
		"--storage-path="+sc.StorageDir,
		"--storage-addr="+sc.StorageAddr,
		"--storage-adv-addr="+sc.StorageAddr,
		"--metrics-addr=127.0.0.1:"+strconv.Itoa(ports[1]),
		"--health-addr="+health,
		"--watch-all-namespaces=true",
		"--log-encoding=console",
		"--log-level=debug")
	if err != nil {
		t.Fatal(err)
	}
	sc.proc = p
	t.Cleanup(p.kill)
	if err := waitHealthy(ctx, p, "http://"+health+"/readyz"); err != nil {
		t.Fatalf("testenv: source-controller: %v; log tail:\n%s", err, sc.Log())
	}
	return sc
}

// Log returns the last lines of the controller's log.
func (sc *SourceController) Log() string { return tail(sc.proc.log) }

// applyCRD creates the CRD in path and waits until it is established, so
// that objects of its kinds can be created right after.
func applyCRD(ctx context.Context, dyn dynamic.Interface, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var obj map[string]any
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(&obj); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	crd := &unstructured.Unstructured{Object: obj}
	if _, err := dyn.Resource(crdResource).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	for {
		got, err := dyn.Resource(crdResource).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err == nil && HasCondition(got, "Established", "True") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not established: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitHealthy polls url until it answers 200, the process exits, or ctx
// ends.
func waitHealthy(ctx context.Context, p *process, url string) error {
	for {
		if p.exited() {
			return fmt.Errorf("exited (%v)", p.err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Condition returns the status condition of type typ of obj (its
// .status.conditions), and whether there is one.
func Condition(obj *unstructured.Unstructured, typ string) (metav1.Condition, bool) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		var cond metav1.Condition
		cond.Type = typ
		cond.Status = metav1.ConditionStatus(fmt.Sprint(m["status"]))
		cond.Reason, _ = m["reason"].(string)
		cond.Message, _ = m["message"].(string)
		if g, ok := m["observedGeneration"].(int64); ok {
			cond.ObservedGeneration = g
		}
		return cond, true
	}
	return metav1.Condition{}, false
}

// HasCondition reports whether obj has a condition of type typ with status.
func HasCondition(obj *unstructured.Unstructured, typ, status string) bool {
	c, ok := Condition(obj, typ)
	return ok && string(c.Status) == status
}
