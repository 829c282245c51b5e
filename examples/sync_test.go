package examples

import (
	"context"
	"os"
	"slices"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestSyncExampleIsValid keeps the sync example loadable as a user would
// load it, and keeps it a sync config (sync refuses one without entries).
func TestSyncExampleIsValid(t *testing.T) {
	t.Parallel()
	l, err := config.Load(config.Options{Path: "sync/mirror.yaml", LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Config.Artifacts) == 0 {
		t.Error("sync/mirror.yaml has no artifacts")
	}
}

// checkSyncCronJob applies sync/cronjob.yaml in namespace ns, strictly, and
// holds it to what the docs promise: no RBAC and no API token (sync never
// calls the API server), the ConfigMap equal to sync/mirror.yaml, the Docker
// config Secret mounted where DOCKER_CONFIG points, a non-root read-only
// container with a memory limit, and runs that never overlap.
func checkSyncCronJob(t *testing.T, env *testenv.Env, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, ns string) {
	create(t, dyn, mapper, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
	}})
	var kinds []string
	var cj batchv1.CronJob
	for _, o := range testenv.ReadObjects(t, "sync/cronjob.yaml") {
		o.SetNamespace(ns)
		create(t, dyn, mapper, o)
		kinds = append(kinds, o.GetKind())
		switch o.GetKind() {
		case "ConfigMap":
			checkConfig(t, o)
			checkSameAsFile(t, o, "sync/mirror.yaml")
		case "CronJob":
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cj); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []string{"ServiceAccount", "ConfigMap", "CronJob"}; !slices.Equal(kinds, want) {
		t.Errorf("sync/cronjob.yaml holds %q, want exactly %q (no RBAC objects)", kinds, want)
	}
	checkSyncPod(t, &cj)
	checkNoAccess(t, env, ns, "flux-mirror-sync")
}

// checkSameAsFile fails unless the ConfigMap's mirror.yaml is the file.
func checkSameAsFile(t *testing.T, cm *unstructured.Unstructured, path string) {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(cm.Object, "data", "mirror.yaml"); got != string(want) {
		t.Errorf("ConfigMap %s: mirror.yaml differs from %s; copy the file into it", cm.GetName(), path)
	}
}

func checkSyncPod(t *testing.T, cj *batchv1.CronJob) {
	t.Helper()
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a ServiceAccount token; sync needs none")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod does not require a non-root user")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the container's root filesystem is writable")
	}
	if limit, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok ||
		limit.Cmp(resource.MustParse("64Mi")) < 0 || limit.Cmp(resource.MustParse("128Mi")) > 0 {
		t.Errorf("memory limit %v, want one between 64Mi and 128Mi", c.Resources.Limits.Memory())
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	var dockerConfig string
	for _, e := range c.Env {
		if e.Name == "DOCKER_CONFIG" {
			dockerConfig = e.Value
		}
	}
	found := false
	for _, v := range pod.Volumes {
		if v.Secret != nil && mounts[v.Name] == dockerConfig &&
			slices.Contains(v.Secret.Items, corev1.KeyToPath{Key: corev1.DockerConfigJsonKey, Path: "config.json"}) {
			found = true
		}
	}
	if !found {
		t.Errorf("no Secret volume puts %s at $DOCKER_CONFIG/config.json (DOCKER_CONFIG=%q)", corev1.DockerConfigJsonKey, dockerConfig)
	}
}

// checkNoAccess asks the API server whether the ServiceAccount may do
// anything in its namespace; with no RBAC objects it must be refused.
func checkNoAccess(t *testing.T, env *testenv.Env, ns, sa string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config("admin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, attr := range []authorizationv1.ResourceAttributes{
		{Namespace: ns, Verb: "get", Resource: "secrets"},
		{Namespace: ns, Verb: "list", Resource: "configmaps"},
		{Namespace: ns, Verb: "create", Resource: "pods"},
		{Namespace: ns, Verb: "*", Group: "*", Resource: "*"},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               "system:serviceaccount:" + ns + ":" + sa,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &attr,
		}}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed {
			t.Errorf("ServiceAccount %s may %s %s in %s; the sync example grants nothing", sa, attr.Verb, attr.Resource, ns)
		}
	}
}
