// Package examples holds the manifests and configs the README points to;
// its test applies them to a real API server.
package examples

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestClusterExamplesApply creates the ServiceAccount, Role, RoleBinding,
// ConfigMap and CronJob of each scenario on a real API server with strict
// server-side field validation, in a namespace of its own, and checks that
// the config each ConfigMap carries is a valid flux-mirror config. The sync
// CronJob (sync/cronjob.yaml) is applied the same way; see
// checkSyncCronJob; the cluster-wide mode (cluster/many-namespaces/)
// is checkManyNamespaces. cluster/flux/ holds Flux objects, whose CRDs
// this API server lacks: test/flux applies them next to source-controller.
func TestClusterExamplesApply(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	cfg := env.Config("admin")
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))

	scenarios, err := filepath.Glob("cluster/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, path := range scenarios {
		if path == "cluster/rbac.yaml" {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			ns := fmt.Sprintf("examples-%d", i)
			objs := append(testenv.ReadObjects(t, "cluster/rbac.yaml"), testenv.ReadObjects(t, path)...)
			nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
			kinds := map[string]bool{}
			for _, o := range append([]*unstructured.Unstructured{nsObj}, objs...) {
				if o.GetKind() != "Namespace" {
					o.SetNamespace(ns)
				}
				retarget(o, ns)
				kinds[o.GetKind()] = true
				create(t, dyn, mapper, o)
				if o.GetKind() == "ConfigMap" {
					checkConfig(t, o)
				}
			}
			for _, k := range []string{"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob"} {
				if !kinds[k] {
					t.Errorf("scenario has no %s", k)
				}
			}
		})
	}
	t.Run("many-namespaces", func(t *testing.T) {
		checkManyNamespaces(t, dyn, mapper, "examples-many")
	})
	t.Run("sync/cronjob.yaml", func(t *testing.T) {
		checkSyncCronJob(t, env, dyn, mapper, "examples-sync")
	})
}

// retarget points a RoleBinding's ServiceAccount subjects at ns.
func retarget(o *unstructured.Unstructured, ns string) {
	if o.GetKind() != "RoleBinding" {
		return
	}
	subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
	for _, s := range subjects {
		if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" {
			m["namespace"] = ns
		}
	}
	_ = unstructured.SetNestedSlice(o.Object, subjects, "subjects")
}

func create(t *testing.T, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, o *unstructured.Unstructured) {
	t.Helper()
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("%s: %v", gvk, err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if o.GetNamespace() != "" {
		ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	}
	// Strict: an unknown or duplicated field is an error, not a warning.
	if _, err := ri.Create(context.Background(), o, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
	}
}

func checkConfig(t *testing.T, cm *unstructured.Unstructured) {
	t.Helper()
	data, _, _ := unstructured.NestedString(cm.Object, "data", "mirror.yaml")
	_, err := config.Parse([]byte(data))
	if err != nil {
		t.Errorf("ConfigMap %s: mirror.yaml: %v", cm.GetName(), err)
	}
}

// TestLocalExampleIsValid keeps the no-cluster example loadable.
func TestLocalExampleIsValid(t *testing.T) {
	t.Setenv("REGISTRY_PASSWORD", "")
	if _, err := config.Load(config.Options{Path: "local/mirror.yaml"}); err != nil {
		t.Fatal(err)
	}
}

// TestCronJobsWriteWhatTheRoleNames keeps the Role's resourceNames and the
// CronJobs apart from drifting: every Secret a scenario's CronJob writes is
// one the Role of rbac.yaml lets it read and replace.
func TestCronJobsWriteWhatTheRoleNames(t *testing.T) {
	role, err := testenv.SecretRole("flux-system")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, r := range role.Rules {
		for _, n := range r.ResourceNames {
			named[n] = true
		}
	}
	scenarios, err := filepath.Glob("cluster/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range scenarios {
		for _, o := range testenv.ReadObjects(t, path) {
			if o.GetKind() != "CronJob" {
				continue
			}
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "jobTemplate", "spec", "template", "spec", "containers")
			for _, c := range containers {
				args, _, _ := unstructured.NestedStringSlice(c.(map[string]any), "args")
				if len(args) >= 2 && args[0] == "secret" && !named[args[1]] {
					t.Errorf("%s: the CronJob writes Secret %q, which rbac.yaml's Role does not name in resourceNames", path, args[1])
				}
			}
		}
	}
}
