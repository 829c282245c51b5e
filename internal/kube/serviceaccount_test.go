package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAddImagePullSecretKeepsEveryWriter adds twenty Secrets to one
// ServiceAccount at once: every update that loses the race is retried on
// the fresh object, so each lands exactly once, beside the entry and the
// fields that were there. A second add changes nothing, and a missing
// ServiceAccount is reported, not created.
func TestAddImagePullSecretKeepsEveryWriter(t *testing.T) {
	ctx := context.Background()
	ns := namespaceWithRole(t, "alice")
	no := false
	_, err := admin(t).CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:                   metav1.ObjectMeta{Name: "builder", Labels: map[string]string{"team": "a"}},
		ImagePullSecrets:             []corev1.LocalObjectReference{{Name: "other"}},
		AutomountServiceAccountToken: &no,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// One client, as the command has: its rate limiter is shared, so it
	// gets the command's default rather than client-go's 5 per second.
	cfg := env.Config("admin")
	cfg.QPS, cfg.Burst = 50, 300
	c, err := NewSecretClient(cfg, ns)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			changed, err := c.AddImagePullSecret(ctx, "builder", fmt.Sprintf("s-%d", i))
			if err == nil && !changed {
				err = errors.New("reported no change")
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if changed, err := c.AddImagePullSecret(ctx, "builder", "s-3"); err != nil || changed {
		t.Errorf("adding s-3 again: changed %v, %v", changed, err)
	}
	sa, err := admin(t).CoreV1().ServiceAccounts(ns).Get(ctx, "builder", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range sa.ImagePullSecrets {
		count[r.Name]++
	}
	if len(sa.ImagePullSecrets) != 21 || count["other"] != 1 || sa.ImagePullSecrets[0].Name != "other" {
		t.Errorf("imagePullSecrets = %v, want other first and s-0..s-19 once each", sa.ImagePullSecrets)
	}
	for i := range 20 {
		if count[fmt.Sprintf("s-%d", i)] != 1 {
			t.Errorf("s-%d listed %d times", i, count[fmt.Sprintf("s-%d", i)])
		}
	}
	if sa.Labels["team"] != "a" || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("other fields changed: labels %v, automount %v", sa.Labels, sa.AutomountServiceAccountToken)
	}

	if _, err := c.AddImagePullSecret(ctx, "nobody", "s-0"); !errors.Is(err, ErrNoServiceAccount) {
		t.Errorf("missing ServiceAccount: %v, want ErrNoServiceAccount", err)
	}
	if _, err := admin(t).CoreV1().ServiceAccounts(ns).Get(ctx, "nobody", metav1.GetOptions{}); err == nil {
		t.Error("the missing ServiceAccount was created")
	}
}
