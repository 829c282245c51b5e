package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// identity is a ServiceAccount of a namespace of its own that tests bind
// roles to; args are the connection flags that run as it.
type identity struct {
	token   string
	subject rbacv1.Subject
	user    string // as the audit log names it
	args    []string
}

// newIdentity creates a ServiceAccount and a token for it.
func newIdentity(t *testing.T) identity {
	t.Helper()
	ns := newNamespace(t, nil)
	name := "flux-mirror-secrets"
	token, err := env.ServiceAccountToken(context.Background(), ns, name)
	must(t, err)
	return identity{
		token:   token,
		subject: rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns},
		user:    "system:serviceaccount:" + ns + ":" + name,
		// The kubeconfig only names the server; --token is the identity.
		args: []string{"--kubeconfig", kubeconfig(t, "dave", ns), "--token", token},
	}
}

// newNamespace creates a namespace with labels and returns its name.
func newNamespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns, err := createNamespace(admin(t), labels)
	must(t, err)
	return ns
}

// createNamespace creates a namespace with labels through client; it does
// not touch the test, so that goroutines may call it.
func createNamespace(client kubernetes.Interface, labels map[string]string) (string, error) {
	ns := fmt.Sprintf("cli-ns-%d", nsSeq.Add(1))
	_, err := client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
	return ns, err
}

// newNamespaces creates n namespaces at once, the first labelled of them
// with labels.
func newNamespaces(t *testing.T, n, labelled int, labels map[string]string) []string {
	t.Helper()
	client := admin(t)
	out := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range out {
		var l map[string]string
		if i < labelled {
			l = labels
		}
		wg.Go(func() { out[i], errs[i] = createNamespace(client, l) })
	}
	wg.Wait()
	must(t, errors.Join(errs...))
	return out
}

// exampleClusterRole is the ClusterRole of
// examples/cluster/many-namespaces/rbac.yaml under a name of its own.
func exampleClusterRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	role, err := testenv.SecretClusterRole()
	must(t, err)
	role.Name = fmt.Sprintf("flux-mirror-secrets-%d", nsSeq.Add(1))
	return role
}

// labelSelector returns a label unique to the test, as a map and as a
// selector.
func labelSelector(name string) (map[string]string, string) {
	v := fmt.Sprintf("%s-%d", name, nsSeq.Add(1))
	return map[string]string{"mirror-test": v}, "mirror-test=" + v
}

// hasSecret says whether the Secret regcreds exists in ns.
func hasSecret(t *testing.T, ns string) bool {
	t.Helper()
	_, err := admin(t).CoreV1().Secrets(ns).Get(context.Background(), "regcreds", metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// requestsOf counts the requests user made since the audit log held
// `since` of them: namespace lists, and the others by verb.
func requestsOf(t *testing.T, user string, since int) (lists int, verbs map[string]int, total int) {
	t.Helper()
	reqs, err := env.Requests(user)
	must(t, err)
	verbs = map[string]int{}
	for _, r := range reqs[since:] {
		if r.Verb == "list" && strings.HasPrefix(r.RequestURI, "/api/v1/namespaces?") || r.RequestURI == "/api/v1/namespaces" {
			lists++
			continue
		}
		verbs[r.Verb]++
	}
	return lists, verbs, len(reqs)
}

func TestSecretNamespaceFlagsAreCheckedBeforeMinting(t *testing.T) {
	cfg := mirrorConfig(t, "- host: ghcr.io\n  credential:\n    value: "+randomSecret(t, "ns-flags-token")+"\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "a", "--namespaces", "b"}, "-n/--namespace and --namespaces cannot be used together"},
		{[]string{"--namespaces", "a", "-A"}, "--namespaces and -A/--all-namespaces cannot be used together"},
		{[]string{"--namespace-selector", "a=b", "--all-namespaces"}, "--namespace-selector and -A/--all-namespaces cannot be used together"},
		{[]string{"--namespaces", "a,BAD_NS"}, `--namespaces: invalid namespace "BAD_NS"`},
		{[]string{"--namespace-selector", "a=(b"}, `--namespace-selector "a=(b"`},
		{[]string{"-A", "--service-account", "Not_A_Name"}, `--service-account: invalid ServiceAccount name "Not_A_Name"`},
		{[]string{"-A", "--export"}, "--export prints one Secret and writes nothing"},
		{[]string{"--service-account", "default", "--export"}, "--export prints one Secret and writes nothing"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := run(t, nil, append([]string{"secret", "regcreds", "-f", cfg, "--server", "https://127.0.0.1:1"}, tc.args...)...)
			wantRefused(t, r, "", tc.want)
			if strings.Contains(r.stderr, "minting") {
				t.Errorf("minted before refusing:\n%s", r.stderr)
			}
		})
	}
}

// TestSecretSelectorWritesExactlyItsNamespaces writes to the 30 of 50
// namespaces a selector picks, with the ClusterRole example: one list of
// namespaces, then a get and a create (or update) per namespace. A
// namespace labelled after the first run gets the Secret on the next, and
// an existing Secret keeps its labels and annotations.
func TestSecretSelectorWritesExactlyItsNamespaces(t *testing.T) {
	ctx := context.Background()
	labels, selector := labelSelector("pick")
	names := newNamespaces(t, 50, 30, labels)
	id := newIdentity(t)
	must(t, env.GrantClusterRole(ctx, exampleClusterRole(t), id.subject))

	existing := names[0]
	_, err := admin(t).CoreV1().Secrets(existing).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcreds", Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"owner": "platform"}},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`), "extra": []byte("kept")},
	}, metav1.CreateOptions{})
	must(t, err)

	cfg := mirrorConfig(t, "- host: ghcr.io\n  username: u\n  credential:\n    value: "+randomSecret(t, "pick-token")+"\n")
	args := append([]string{"secret", "regcreds", "-f", cfg, "--namespace-selector", selector}, id.args...)
	r := run(t, nil, args...)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.stderr)
	}
	wantLines(t, r.stderr, "✔ secret regcreds written to 30 namespaces (1 host)", "✔ secret "+existing+"/regcreds replaced")
	for i, ns := range names {
		if got := hasSecret(t, ns); got != (i < 30) {
			t.Errorf("namespace %s (labelled: %v) has the Secret: %v", ns, i < 30, got)
		}
	}
	lists, verbs, seen := requestsOf(t, id.user, 0)
	if lists != 1 || verbs["get"] != 30 || verbs["create"] != 29 || verbs["update"] != 1 || len(verbs) != 3 {
		t.Errorf("the API server saw %d namespace lists and %v, want 1 list, 30 get, 29 create, 1 update", lists, verbs)
	}
	s, err := admin(t).CoreV1().Secrets(existing).Get(ctx, "regcreds", metav1.GetOptions{})
	must(t, err)
	if s.Labels["team"] != "a" || s.Annotations["owner"] != "platform" || string(s.Data["extra"]) != "kept" {
		t.Errorf("the replace lost labels, annotations or data: %v %v %v", s.Labels, s.Annotations, keys(s.Data))
	}

	late := newNamespace(t, labels)
	r = run(t, nil, args...)
	if r.err != nil {
		t.Fatalf("second run: %v\n%s", r.err, r.stderr)
	}
	wantLines(t, r.stderr, "✔ secret "+late+"/regcreds created", "✔ secret regcreds written to 31 namespaces")
	if lists, verbs, _ = requestsOf(t, id.user, seen); lists != 1 || verbs["get"] != 31 || verbs["create"] != 1 || verbs["update"] != 30 {
		t.Errorf("second run: the API server saw %d namespace lists and %v, want 1 list, 31 get, 1 create, 30 update", lists, verbs)
	}
	for i, ns := range names {
		if got := hasSecret(t, ns); got != (i < 30) {
			t.Errorf("after the second run, namespace %s has the Secret: %v", ns, got)
		}
	}
}

// TestSecretManyNamespacesTimes prints the wall time of runs writing to 3
// and to 50 namespaces (numbers, not assertions on time), and holds each
// run to one namespace list, one get and one write per namespace.
func TestSecretManyNamespacesTimes(t *testing.T) {
	ctx := context.Background()
	few, fewSel := labelSelector("few")
	all, allSel := labelSelector("all")
	names := newNamespaces(t, 50, 50, all)
	for _, ns := range names[:3] {
		n, err := admin(t).CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		must(t, err)
		for k, v := range few {
			n.Labels[k+"-few"] = v
		}
		_, err = admin(t).CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{})
		must(t, err)
	}
	fewSel = strings.Replace(fewSel, "=", "-few=", 1)
	id := newIdentity(t)
	must(t, env.GrantClusterRole(ctx, exampleClusterRole(t), id.subject))
	cfg := mirrorConfig(t, "- host: ghcr.io\n  username: u\n  credential:\n    value: "+randomSecret(t, "times-token")+"\n")
	seen := 0
	// The last run is held to 100 requests per second, bursts of 10: its
	// hundred and one requests take about a second.
	for _, tc := range []struct {
		selector string
		n        int
		limits   []string
	}{{fewSel, 3, nil}, {allSel, 50, nil}, {fewSel, 3, nil}, {allSel, 50, nil}, {allSel, 50, []string{"--kube-api-qps", "100", "--kube-api-burst", "10"}}} {
		start := time.Now()
		r := run(t, nil, append(append([]string{"secret", "regcreds", "-f", cfg, "--namespace-selector", tc.selector}, tc.limits...), id.args...)...)
		elapsed := time.Since(start)
		if r.err != nil || !strings.Contains(r.stderr, fmt.Sprintf("written to %d namespaces", tc.n)) {
			t.Fatalf("%d namespaces: %v\n%s", tc.n, r.err, r.stderr)
		}
		var lists int
		var verbs map[string]int
		lists, verbs, seen = requestsOf(t, id.user, seen)
		if lists != 1 || verbs["get"] != tc.n || verbs["create"]+verbs["update"] != tc.n {
			t.Errorf("%d namespaces: %d namespace lists and %v, want 1 list, %d gets and %d writes", tc.n, lists, verbs, tc.n, tc.n)
		}
		t.Logf("%2d namespaces %v: %6.1f ms wall, %d namespace list + %v", tc.n, tc.limits, float64(elapsed.Microseconds())/1000, lists, verbs)
	}
}

// TestSecretManyNamespacesReportsEachFailure selects five namespaces: two
// it may write to, one where it has no rights, one holding an Opaque
// Secret of that name and one being deleted. Each of the last three is
// reported by name, the two others are written, and the exit status is 1.
func TestSecretManyNamespacesReportsEachFailure(t *testing.T) {
	ctx := context.Background()
	labels, selector := labelSelector("fail")
	names := newNamespaces(t, 5, 5, labels)
	slices.Sort(names)
	ok1, ok2, denied, opaque, deleting := names[0], names[1], names[2], names[3], names[4]

	id := newIdentity(t)
	// Secrets by RoleBinding where it may write, namespaces by
	// ClusterRoleBinding, as a cluster with tenants it may not touch has.
	example := exampleClusterRole(t)
	secrets, list := example.DeepCopy(), example.DeepCopy()
	secrets.Rules = secrets.Rules[:2]
	list.Name += "-list"
	list.Rules = list.Rules[2:3]
	must(t, env.GrantClusterRole(ctx, secrets, id.subject, ok1, ok2, opaque, deleting))
	must(t, env.GrantClusterRole(ctx, list, id.subject))

	_, err := admin(t).CoreV1().Secrets(opaque).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcreds"}, Type: corev1.SecretTypeOpaque}, metav1.CreateOptions{})
	must(t, err)
	// No namespace controller runs, so a deleted namespace stays
	// Terminating (its "kubernetes" finalizer is never removed).
	must(t, admin(t).CoreV1().Namespaces().Delete(ctx, deleting, metav1.DeleteOptions{}))

	cfg := mirrorConfig(t, "- host: ghcr.io\n  username: u\n  credential:\n    value: "+randomSecret(t, "fail-token")+"\n")
	r := run(t, nil, append([]string{"secret", "regcreds", "-f", cfg, "--namespace-selector", selector}, id.args...)...)
	if r.code != 1 {
		t.Errorf("exit status %d, want 1", r.code)
	}
	wantLines(t, r.stderr,
		"✗ get secret "+denied+"/regcreds: permission denied",
		"✗ secret "+opaque+`/regcreds has type "Opaque"`,
		"⚠️ namespace "+deleting+" is being deleted: skipped",
		"✔ secret "+ok1+"/regcreds created",
		"✔ secret "+ok2+"/regcreds created",
		fmt.Sprintf("✗ secret regcreds: 2 of 4 namespaces failed (%s, %s), 2 written, 1 skipped", denied, opaque),
	)
	if n := len(failureLines(r.stderr)); n != 3 {
		t.Errorf("%d ✗ lines, want one per failed namespace and the summary:\n%s", n, r.stderr)
	}
	for ns, want := range map[string]bool{ok1: true, ok2: true, denied: false, deleting: false} {
		if got := hasSecret(t, ns); got != want {
			t.Errorf("namespace %s has the Secret: %v, want %v", ns, got, want)
		}
	}

	// Named explicitly, the namespace being deleted is tried, and the API
	// server's refusal is reported by name.
	r = run(t, nil, append([]string{"secret", "regcreds", "-f", cfg, "--namespaces", ok1 + "," + deleting}, id.args...)...)
	wantLines(t, r.stderr, "✗ create secret "+deleting+"/regcreds", "✔ secret "+ok1+"/regcreds replaced",
		fmt.Sprintf("✗ secret regcreds: 1 of 2 namespaces failed (%s), 1 written", deleting))
	if r.code != 1 {
		t.Errorf("exit status %d, want 1", r.code)
	}
}

// TestWritersFollowTheBurst bounds the namespaces written at once by
// maxConcurrentWrites, the namespaces there are and --kube-api-burst.
func TestWritersFollowTheBurst(t *testing.T) {
	for _, tc := range []struct{ burst, namespaces, want int }{
		{300, 50, maxConcurrentWrites},
		{300, 3, 3},
		{2, 50, 2},
		{0, 50, maxConcurrentWrites}, // no burst: client-go's default limiter
		{300, 0, 1},
	} {
		if got := writers(tc.burst, tc.namespaces); got != tc.want {
			t.Errorf("writers(%d, %d) = %d, want %d", tc.burst, tc.namespaces, got, tc.want)
		}
	}
}
