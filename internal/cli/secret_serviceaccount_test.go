package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// TestSecretPointsServiceAccountsAtIt adds the Secret to a
// ServiceAccount's imagePullSecrets once, however often it runs, keeping
// its other entries and fields, and reports the ServiceAccount that does
// not exist. Runs writing other Secrets and another writer changing the
// same ServiceAccount at the same time all keep their entries.
func TestSecretPointsServiceAccountsAtIt(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, nil)
	no := false
	_, err := admin(t).CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: "builder", Labels: map[string]string{"team": "a"}},
		ImagePullSecrets:             []corev1.LocalObjectReference{{Name: "other"}},
		AutomountServiceAccountToken: &no,
	}, metav1.CreateOptions{})
	must(t, err)
	id := newIdentity(t)
	role := exampleClusterRole(t)
	concurrent := []string{"regcreds-0", "regcreds-1", "regcreds-2", "regcreds-3", "regcreds-4"}
	role.Rules[0].ResourceNames = append([]string{"regcreds"}, concurrent...)
	role.Rules[3].ResourceNames = []string{"builder", "default"}
	must(t, env.GrantClusterRole(ctx, role, id.subject, ns))
	cfg := mirrorConfig(t, "- host: ghcr.io\n  username: u\n  credential:\n    value: "+randomSecret(t, "sa-token")+"\n")

	// Once in the namespace of -n, once through --namespaces.
	for i, where := range [][]string{{"-n", ns}, {"--namespaces", ns}} {
		r := run(t, nil, append(append([]string{"secret", "regcreds", "-f", cfg, "--service-account", "builder,default"}, where...), id.args...)...)
		if r.err != nil {
			t.Fatalf("run %d: %v\n%s", i, r.err, r.stderr)
		}
		wantLines(t, r.stderr, "⚠️ serviceaccount "+ns+"/default: no such ServiceAccount")
		if patched := strings.Contains(r.stderr, "• serviceaccount "+ns+"/builder pulls with secret regcreds"); patched != (i == 0) {
			t.Errorf("run %d: reported patching the ServiceAccount: %v\n%s", i, patched, r.stderr)
		}
	}
	wantPullSecrets(t, ns, "other", "regcreds")

	var wg sync.WaitGroup
	results := make([]result, len(concurrent))
	for i, name := range concurrent {
		wg.Go(func() {
			results[i] = run(t, nil, append([]string{"secret", name, "-f", cfg, "--namespaces", ns, "--service-account", "builder"}, id.args...)...)
		})
	}
	var extras []string
	for i := range 10 {
		extras = append(extras, fmt.Sprintf("extra-%d", i))
	}
	sas := admin(t).CoreV1().ServiceAccounts(ns)
	wg.Go(func() {
		for _, e := range extras {
			if err := addPullSecret(ctx, sas, "builder", e); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Errorf("concurrent run %d: %v\n%s", i, r.err, r.stderr)
		}
	}
	want := append(append([]string{"other", "regcreds"}, concurrent...), extras...)
	wantPullSecrets(t, ns, want...)
	sa, err := admin(t).CoreV1().ServiceAccounts(ns).Get(ctx, "builder", metav1.GetOptions{})
	must(t, err)
	if sa.Labels["team"] != "a" || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("other fields changed: labels %v, automount %v", sa.Labels, sa.AutomountServiceAccountToken)
	}
	if _, err := admin(t).CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the missing ServiceAccount default was created: %v", err)
	}
}

// addPullSecret is another writer of the ServiceAccount: get, append,
// update, again on a conflict.
func addPullSecret(ctx context.Context, sas typedcorev1.ServiceAccountInterface, sa, name string) error {
	for {
		cur, err := sas.Get(ctx, sa, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.ImagePullSecrets = append(cur.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
		_, err = sas.Update(ctx, cur, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

// wantPullSecrets fails unless the ServiceAccount builder of ns lists
// exactly want in imagePullSecrets, each once, in any order.
func wantPullSecrets(t *testing.T, ns string, want ...string) {
	t.Helper()
	sa, err := admin(t).CoreV1().ServiceAccounts(ns).Get(context.Background(), "builder", metav1.GetOptions{})
	must(t, err)
	var got []string
	for _, r := range sa.ImagePullSecrets {
		got = append(got, r.Name)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("imagePullSecrets = %v, want %v", got, want)
	}
}
