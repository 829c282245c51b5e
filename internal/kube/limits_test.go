package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// TestTheNarrowRoleIsEnoughAndNoMore binds the documented Role (get and
// update on regcreds only, create on any name) and proves on the API server
// that it creates then replaces regcreds, cannot read another Secret of
// the namespace, and that the refusal says which rule to widen.
func TestTheNarrowRoleIsEnoughAndNoMore(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	ctx := context.Background()
	c, _ := countingClient(t, "alice", ns)
	for _, want := range []Operation{Created, Replaced, Replaced} {
		if op, err := c.UpsertSecret(ctx, "regcreds", []byte(`{"auths":{}}`), Stamp{}, false); err != nil || op != want {
			t.Fatalf("upsert regcreds: op %q err %v, want %q", op, err, want)
		}
	}

	deployKey := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "flux-system", Namespace: ns}, Data: map[string][]byte{"identity": []byte("k")}}
	if _, err := admin(t).CoreV1().Secrets(ns).Create(ctx, deployKey, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	alice, err := kubernetes.NewForConfig(env.Config("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CoreV1().Secrets(ns).Get(ctx, "flux-system", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the job's identity reads another Secret: err = %v, want forbidden", err)
	}
	if _, err := alice.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the job's identity lists Secrets: err = %v, want forbidden", err)
	}

	_, err = c.UpsertSecret(ctx, "flux-system", []byte(`{"auths":{}}`), Stamp{}, false)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `add "flux-system" to resourceNames`) ||
		!strings.Contains(err.Error(), "flux-mirror-secret") {
		t.Errorf("a name outside resourceNames: err = %v, want a 403 saying which Role rule to widen", err)
	}
}

// TestManyWritersAllSucceed races 50 writers, five writes each, on one
// Secret: conflicts are retried until the write deadline, not a fixed
// number of times (16 retries lost a dozen of these 250 writes), and the
// Secret ends holding one writer's whole payload.
func TestManyWritersAllSucceed(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	const writers = 50
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	payloads := map[string]bool{}
	for i := range writers {
		c, _ := countingClient(t, "alice", ns)
		payload := fmt.Sprintf(`{"auths":{"writer-%d.example.com":{}}}`, i)
		payloads[payload] = true
		wg.Go(func() {
			for range 5 {
				if _, err := c.UpsertSecret(ctx, "regcreds", []byte(payload), Stamp{}, false); err != nil {
					errs[i] = err
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	s := getSecret(t, ns, "regcreds")
	if got := string(s.Data[corev1.DockerConfigJsonKey]); !payloads[got] || s.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("final secret is not one writer's whole payload: %q", got)
	}
}

// TestRacesUntilTheDeadlineNameTheRace runs the retry loop on attempts
// that always lose (the API server's own Conflict error): it retries until
// ctx ends and then says that other writers raced for the Secret.
func TestRacesUntilTheDeadlineNameTheRace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	attempts := 0
	err := retryConflicts(ctx, "secret", "ns/regcreds", func() error {
		attempts++
		return apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "regcreds", errors.New("the object has been modified"))
	})
	var race *RaceError
	if !errors.As(err, &race) || race.Lost != attempts || !apierrors.IsConflict(err) ||
		!strings.Contains(err.Error(), "other writers raced for it") {
		t.Fatalf("err = %v after %d attempts, want a RaceError wrapping the conflict", err, attempts)
	}
	if attempts < 3 {
		t.Errorf("only %d attempts before the deadline", attempts)
	}
}

// TestSizeLimitIsTheAPIServers checks MaxSecretDataSize against the API
// server (it takes a Secret of exactly that much data and refuses one byte
// more), and that UpsertSecret refuses an oversized Secret itself, before
// any request.
func TestSizeLimitIsTheAPIServers(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	ctx := context.Background()
	for i, size := range []int{MaxSecretDataSize, MaxSecretDataSize + 1} {
		s := &Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("size-%d", i), Namespace: ns},
			Data:       map[string][]byte{"a": make([]byte, size-10), "b": make([]byte, 10)},
		}
		_, serverErr := admin(t).CoreV1().Secrets(ns).Create(ctx, asCore(t, s), metav1.CreateOptions{})
		if checkErr := CheckSize(s); (serverErr == nil) != (checkErr == nil) {
			t.Errorf("%d bytes: the API server says %v, CheckSize says %v", size, serverErr, checkErr)
		}
	}

	c, calls := countingClient(t, "alice", ns)
	_, err := c.UpsertSecret(ctx, "regcreds", make([]byte, MaxSecretDataSize+1), Stamp{}, false)
	var size *SizeError
	if !errors.As(err, &size) || size.Size != MaxSecretDataSize+1 || calls.Load() != 0 {
		t.Errorf("err = %v after %d requests, want a SizeError before any request", err, calls.Load())
	}
}

// TestStampIsKeptThroughReplaces writes a Secret with an expiry, replaces
// it with and without one, and checks the annotations each time, with the
// user's own annotation kept.
func TestStampIsKeptThroughReplaces(t *testing.T) {
	ns := namespaceWithRole(t, "alice")
	ctx := context.Background()
	c, _ := countingClient(t, "alice", ns)
	written := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	expires := written.Add(time.Hour)
	stamp := Stamp{WrittenAt: written, ExpiresAt: expires.In(time.FixedZone("CET", 3600)), ExpiresHost: "ghcr.io"}
	if _, err := c.UpsertSecret(ctx, "regcreds", []byte(`{}`), stamp, false); err != nil {
		t.Fatal(err)
	}
	s := getSecret(t, ns, "regcreds")
	want := map[string]string{
		AnnotationWrittenAt:   "2026-11-30T08:00:00Z",
		AnnotationExpiresAt:   "2026-11-30T09:00:00Z",
		AnnotationExpiresHost: "ghcr.io",
	}
	for k, v := range want {
		if s.Annotations[k] != v {
			t.Errorf("created: %s = %q, want %q", k, s.Annotations[k], v)
		}
	}

	s.Annotations["team"] = "kept"
	if _, err := admin(t).CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	later := Stamp{WrittenAt: written.Add(time.Minute)}
	if _, err := c.UpsertSecret(ctx, "regcreds", []byte(`{}`), later, false); err != nil {
		t.Fatal(err)
	}
	s = getSecret(t, ns, "regcreds")
	if s.Annotations["team"] != "kept" || s.Annotations[AnnotationWrittenAt] != "2026-11-30T08:01:00Z" {
		t.Errorf("replaced: annotations %v", s.Annotations)
	}
	if _, ok := s.Annotations[AnnotationExpiresAt]; ok {
		t.Errorf("replaced without a known expiry, yet %s stays: %v", AnnotationExpiresAt, s.Annotations)
	}
	if _, ok := s.Annotations[AnnotationExpiresHost]; ok {
		t.Errorf("replaced without a known expiry, yet %s stays: %v", AnnotationExpiresHost, s.Annotations)
	}
}
