package examples

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// manyDir holds the cluster-wide mode: a ClusterRole and one CronJob for
// many namespaces.
const manyDir = "cluster/many-namespaces/"

// checkManyNamespaces applies many-namespaces/rbac.yaml, policy.yaml and
// cronjob.yaml strictly, their namespaced objects in ns, and holds the CronJob to its
// ClusterRole and its schedule: every Secret and ServiceAccount it names
// is named in the rules, the namespaces rule is there when it selects, runs
// never overlap, and a run ends before the next is due.
func checkManyNamespaces(t *testing.T, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, ns string) {
	create(t, dyn, mapper, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
	}})
	var kinds []string
	var role rbacv1.ClusterRole
	var cj batchv1.CronJob
	var objs []*unstructured.Unstructured
	for _, f := range []string{"rbac.yaml", "policy.yaml", "cronjob.yaml"} {
		objs = append(objs, testenv.ReadObjects(t, manyDir+f)...)
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			// Cluster-scoped and applied once.
		case "ClusterRole":
			o.SetName(o.GetName() + "-" + ns)
			fromUnstructured(t, o, &role)
		case "ClusterRoleBinding":
			o.SetName(o.GetName() + "-" + ns)
			_ = unstructured.SetNestedField(o.Object, o.GetName(), "roleRef", "name")
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subjects {
				s.(map[string]any)["namespace"] = ns
			}
			_ = unstructured.SetNestedSlice(o.Object, subjects, "subjects")
		case "ConfigMap":
			o.SetNamespace(ns)
			checkConfig(t, o)
		case "CronJob":
			o.SetNamespace(ns)
			fromUnstructured(t, o, &cj)
		default:
			o.SetNamespace(ns)
		}
		create(t, dyn, mapper, o)
		kinds = append(kinds, o.GetKind())
	}
	if want := []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ConfigMap", "CronJob"}; !slices.Equal(kinds, want) {
		t.Errorf("%s holds %q, want %q", manyDir, kinds, want)
	}
	checkManyCronJob(t, &cj, &role)
}

func fromUnstructured(t *testing.T, o *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
		t.Fatal(err)
	}
}

// checkManyCronJob holds the CronJob's arguments to the ClusterRole's
// rules and its deadlines to its schedule.
func checkManyCronJob(t *testing.T, cj *batchv1.CronJob, role *rbacv1.ClusterRole) {
	t.Helper()
	named := func(resource, name string) bool {
		for _, r := range role.Rules {
			if slices.Contains(r.Resources, resource) && slices.Contains(r.ResourceNames, name) {
				return true
			}
		}
		return false
	}
	args := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
	if len(args) < 2 || args[0] != "secret" || !named("secrets", args[1]) {
		t.Errorf("the CronJob's args %q do not write a Secret the ClusterRole names", args)
	}
	timeout := time.Minute
	for i := 2; i+1 < len(args); i++ {
		switch args[i] {
		case "--service-account":
			for _, sa := range strings.Split(args[i+1], ",") {
				if !named("serviceaccounts", sa) {
					t.Errorf("the CronJob patches ServiceAccount %q, which the ClusterRole does not name", sa)
				}
			}
		case "--namespace-selector", "-A", "--all-namespaces":
			if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.Resources, "namespaces") && slices.Contains(r.Verbs, "list")
			}) {
				t.Error("the CronJob selects namespaces, and the ClusterRole cannot list them")
			}
		case "--timeout":
			d, err := time.ParseDuration(args[i+1])
			if err != nil {
				t.Fatal(err)
			}
			timeout = d
		}
	}

	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	// "*/N * * * *": a run every N minutes.
	minutes, err := strconv.Atoi(strings.TrimPrefix(strings.Fields(cj.Spec.Schedule)[0], "*/"))
	if err != nil {
		t.Fatalf("schedule %q: want */N * * * *", cj.Spec.Schedule)
	}
	period := time.Duration(minutes) * time.Minute
	start, active := cj.Spec.StartingDeadlineSeconds, cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds
	switch {
	case start == nil || active == nil:
		t.Fatal("want startingDeadlineSeconds and activeDeadlineSeconds")
	case time.Duration(*start)*time.Second >= period:
		t.Errorf("startingDeadlineSeconds %d lets a late run start after the next is due (every %s)", *start, period)
	case time.Duration(*active)*time.Second >= period:
		t.Errorf("activeDeadlineSeconds %d lets a run go on after the next is due (every %s)", *active, period)
	case time.Duration(*active)*time.Second < 3*timeout:
		// The list, the minting and the writes each get --timeout.
		t.Errorf("activeDeadlineSeconds %d kills a run before its own --timeout %s (three times) ends it", *active, timeout)
	}
}
