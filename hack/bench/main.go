// Command bench measures flux-mirror's Secret replace against the kubectl
// pipeline it replaces, on the same real API server, and prints the numbers:
// wall time, CPU time and peak memory (medians over -n runs, from the
// kernel's rusage of each process tree as GNU time reports it) and the API
// requests the server's audit log recorded for one run.
//
//	go run ./hack/bench -bin bin/flux-mirror -kubectl "$(hack/testenv.sh kubectl)/kubectl"
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

func main() {
	n := flag.Int("n", 20, "runs per command")
	bin := flag.String("bin", "bin/flux-mirror", "flux-mirror binary")
	kubectl := flag.String("kubectl", "", "kubectl binary (hack/testenv.sh kubectl builds one)")
	flag.Parse()
	if err := run(*n, *bin, *kubectl); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(n int, bin, kubectl string) error {
	if kubectl == "" {
		return fmt.Errorf("-kubectl is required")
	}
	bin, _ = filepath.Abs(bin)
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer env.Stop()
	dir, err := os.MkdirTemp("", "flux-mirror-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// carol runs kubectl, dave runs flux-mirror: the audit log tells them apart.
	if err := arrange(env, "carol", "dave"); err != nil {
		return err
	}
	kcCarol, err := env.Kubeconfig("carol", "bench")
	if err != nil {
		return err
	}
	kcDave, err := env.Kubeconfig("dave", "bench")
	if err != nil {
		return err
	}
	cfg := filepath.Join(dir, "mirror.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\nhosts:\n- host: registry.example.com\n  credential:\n    type: jwt\n    username: u\n    value: p\n"), 0o600); err != nil {
		return err
	}
	pipeline := []string{"sh", "-c", fmt.Sprintf(
		"%[1]s create secret docker-registry kubectl-creds --docker-server=registry.example.com --docker-username=u --docker-password=p --dry-run=client -o yaml --kubeconfig %[2]s | %[1]s apply -f - --kubeconfig %[2]s >/dev/null",
		kubectl, kcCarol)}
	mirror := []string{bin, "secret", "mirror-creds", "-f", cfg, "--kubeconfig", kcDave}
	home := filepath.Join(dir, "home") // kubectl keeps its discovery cache here, warm after the first run

	var kube, fm []testenv.Sample
	for i := -1; i < n; i++ { // run -1 creates both Secrets and warms caches
		k, err := testenv.Measure(home, pipeline)
		if err != nil {
			return fmt.Errorf("kubectl: %w", err)
		}
		before, _ := env.Requests("dave")
		f, err := testenv.Measure(home, mirror)
		if err != nil {
			return fmt.Errorf("flux-mirror: %w", err)
		}
		if i == 0 {
			after, _ := env.Requests("dave")
			fmt.Printf("api requests, replace: flux-mirror %d\n", len(after)-len(before))
		}
		if i >= 0 {
			kube, fm = append(kube, k), append(fm, f)
		}
	}
	if err := countKubectl(env, home, pipeline); err != nil {
		return err
	}
	before, _ := env.Requests("dave")
	if _, err := testenv.Measure(home, append(slices.Clone(mirror[:2]), "created-creds", "--create", "-f", cfg, "--kubeconfig", kcDave)); err != nil {
		return err
	}
	after, _ := env.Requests("dave")
	fmt.Printf("api requests, --create: flux-mirror %d\n", len(after)-len(before))

	km, fmm := testenv.Median(kube), testenv.Median(fm)
	fmt.Printf("kubectl create --dry-run=client | kubectl apply (median of %d): wall %s  cpu %s  peak %.1f MiB\n", n, km.Wall, km.CPU, float64(km.RSSKiB)/1024)
	fmt.Printf("flux-mirror secret                (median of %d): wall %s  cpu %s  peak %.1f MiB\n", n, fmm.Wall, fmm.CPU, float64(fmm.RSSKiB)/1024)
	fmt.Printf("ratio flux-mirror/kubectl: wall %.3f  cpu %.3f  (targets: wall <= 0.15, cpu <= 0.10, peak <= 40 MiB)\n",
		float64(fmm.Wall)/float64(km.Wall), float64(fmm.CPU)/float64(km.CPU))
	help, err := testenv.Measure(home, []string{bin, "--help"})
	if err != nil {
		return err
	}
	fmt.Printf("flux-mirror --help: peak %.1f MiB\n", float64(help.RSSKiB)/1024)
	if st, err := os.Stat(bin); err == nil {
		fmt.Printf("binary %s: %.1f MiB\n", filepath.Base(bin), float64(st.Size())/(1<<20))
	}
	return nil
}

func countKubectl(env *testenv.Env, home string, pipeline []string) error {
	before, _ := env.Requests("carol")
	if _, err := testenv.Measure(home, pipeline); err != nil {
		return err
	}
	after, _ := env.Requests("carol")
	fmt.Printf("api requests, replace: kubectl pipeline %d (warm discovery cache)\n", len(after)-len(before))
	return nil
}

// arrange creates the bench namespace and makes each user cluster-admin.
func arrange(env *testenv.Env, users ...string) error {
	cs, err := kubernetes.NewForConfig(env.Config("admin"))
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for _, u := range users {
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "bench-" + u},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: u, APIGroup: rbacv1.GroupName}},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin", APIGroup: rbacv1.GroupName},
		}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			return err
		}
		if err := env.WaitForAccess(ctx, u, "bench"); err != nil {
			return err
		}
	}
	return nil
}
