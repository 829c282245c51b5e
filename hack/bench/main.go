// Command bench measures flux-mirror's Secret replace against the kubectl
// pipeline it replaces, on the same real API server, and prints the numbers:
// wall time, CPU time and peak memory (medians over -n runs, from the
// kernel's rusage of each process tree as GNU time reports it) and the API
// requests the server's audit log recorded for one run.
//
//	go run ./hack/bench -bin bin/flux-mirror -kubectl "$(hack/testenv.sh kubectl)/kubectl"
//
// With -sync it measures `flux-mirror sync` against crane, skopeo and
// regsync copying one workload between two real registries (sync.go).
//
//	go run ./hack/bench -sync -n 10 -bin bin/flux-mirror
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

type sample struct {
	wall, cpu time.Duration
	rssKiB    int64
}

func main() {
	n := flag.Int("n", 20, "runs per command")
	bin := flag.String("bin", "bin/flux-mirror", "flux-mirror binary")
	kubectl := flag.String("kubectl", "", "kubectl binary (hack/testenv.sh kubectl builds one)")
	syncMode := flag.Bool("sync", false, "measure sync against crane, skopeo and regsync instead (peers: registry, crane, regsync; skopeo from Debian)")
	cold := flag.Int("cold", 3, "with -sync: cold runs per tool, each into a fresh destination")
	big := flag.Bool("big", true, "with -sync: also copy one image with a single 1 GiB layer")
	flag.Parse()
	var err error
	if *syncMode {
		err = runSync(syncOptions{fm: *bin, warm: *n, cold: *cold, big: *big})
	} else {
		err = run(*n, *bin, *kubectl)
	}
	if err != nil {
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
	if err := os.WriteFile(cfg, []byte("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n- host: registry.example.com\n  username: u\n  credential:\n    value: p\n"), 0o600); err != nil {
		return err
	}
	pipeline := []string{"sh", "-c", fmt.Sprintf(
		"%[1]s create secret docker-registry kubectl-creds --docker-server=registry.example.com --docker-username=u --docker-password=p --dry-run=client -o yaml --kubeconfig %[2]s | %[1]s apply -f - --kubeconfig %[2]s >/dev/null",
		kubectl, kcCarol)}
	mirror := []string{bin, "secret", "mirror-creds", "-f", cfg, "--kubeconfig", kcDave}
	home := filepath.Join(dir, "home") // kubectl keeps its discovery cache here, warm after the first run

	var kube, fm []sample
	for i := -1; i < n; i++ { // run -1 creates both Secrets and warms caches
		k, err := measure(home, pipeline)
		if err != nil {
			return fmt.Errorf("kubectl: %w", err)
		}
		before, _ := env.Requests("dave")
		f, err := measure(home, mirror)
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
	if _, err := measure(home, append(slices.Clone(mirror[:2]), "created-creds", "--create", "-f", cfg, "--kubeconfig", kcDave)); err != nil {
		return err
	}
	after, _ := env.Requests("dave")
	fmt.Printf("api requests, --create: flux-mirror %d\n", len(after)-len(before))

	km, fmm := median(kube), median(fm)
	fmt.Printf("kubectl create --dry-run=client | kubectl apply (median of %d): wall %s  cpu %s  peak %.1f MiB\n", n, km.wall, km.cpu, float64(km.rssKiB)/1024)
	fmt.Printf("flux-mirror secret                (median of %d): wall %s  cpu %s  peak %.1f MiB\n", n, fmm.wall, fmm.cpu, float64(fmm.rssKiB)/1024)
	fmt.Printf("ratio flux-mirror/kubectl: wall %.3f  cpu %.3f  (targets: wall <= 0.15, cpu <= 0.10, peak <= 40 MiB)\n",
		float64(fmm.wall)/float64(km.wall), float64(fmm.cpu)/float64(km.cpu))
	help, err := measure(home, []string{bin, "--help"})
	if err != nil {
		return err
	}
	fmt.Printf("flux-mirror --help: peak %.1f MiB\n", float64(help.rssKiB)/1024)
	if st, err := os.Stat(bin); err == nil {
		fmt.Printf("binary %s: %.1f MiB\n", filepath.Base(bin), float64(st.Size())/(1<<20))
	}
	return nil
}

func countKubectl(env *testenv.Env, home string, pipeline []string) error {
	before, _ := env.Requests("carol")
	if _, err := measure(home, pipeline); err != nil {
		return err
	}
	after, _ := env.Requests("carol")
	fmt.Printf("api requests, replace: kubectl pipeline %d (warm discovery cache)\n", len(after)-len(before))
	return nil
}

// measure runs argv under GNU time, which forks it from a small process and
// reports the rusage of its whole process tree (wait4 includes every
// descendant the child reaped). Taking rusage from this Go process instead
// would charge the child with this process's own memory: Go starts children
// with vfork, and the kernel keeps the parent's high-water mark across exec.
func measure(home string, argv []string) (sample, error) {
	report := filepath.Join(home, "time.out")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return sample{}, err
	}
	cmd := exec.Command("/usr/bin/time", append([]string{"-o", report, "-f", "%M"}, argv...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG=")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, out)
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		return sample{}, err
	}
	var rss int64
	if _, err := fmt.Sscanf(string(raw), "%d", &rss); err != nil {
		return sample{}, fmt.Errorf("parse %q: %w", raw, err)
	}
	// CPU from our own wait4 on time: microseconds, and it includes the
	// measured tree (time reaps it); GNU time itself rounds to 10 ms.
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return sample{wall: wall, cpu: cpu, rssKiB: rss}, nil
}

func median(s []sample) sample {
	if len(s) == 0 {
		return sample{}
	}
	pick := func(get func(sample) int64) int64 {
		v := make([]int64, len(s))
		for i := range s {
			v[i] = get(s[i])
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return sample{
		wall:   time.Duration(pick(func(x sample) int64 { return int64(x.wall) })),
		cpu:    time.Duration(pick(func(x sample) int64 { return int64(x.cpu) })),
		rssKiB: pick(func(x sample) int64 { return x.rssKiB }),
	}
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
