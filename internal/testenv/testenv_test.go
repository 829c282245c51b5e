package testenv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestBinDir(t *testing.T) {
	t.Setenv("FLUX_MIRROR_TESTENV_BIN", "/opt/peers")
	if got := BinDir(); got != "/opt/peers" {
		t.Errorf("BinDir() with FLUX_MIRROR_TESTENV_BIN = %q, want /opt/peers", got)
	}
	t.Setenv("FLUX_MIRROR_TESTENV_BIN", "")
	t.Setenv("XDG_CACHE_HOME", "/var/cache/me")
	if got, want := BinDir(), "/var/cache/me/flux-mirror-testenv/bin"; got != want {
		t.Errorf("BinDir() with XDG_CACHE_HOME = %q, want %q", got, want)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/me")
	if got, want := BinDir(), "/home/me/.cache/flux-mirror-testenv/bin"; got != want {
		t.Errorf("BinDir() with HOME = %q, want %q", got, want)
	}
}

func TestStartMissingBinaries(t *testing.T) {
	t.Setenv("FLUX_MIRROR_TESTENV_BIN", t.TempDir())
	env, err := Start()
	if err == nil {
		env.Stop()
		t.Fatal("Start() with no binaries succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "make testenv") {
		t.Errorf("Start() error = %q, want it to say how to build the binaries", err)
	}
}

func TestEnv(t *testing.T) {
	begin := time.Now()
	env, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start took %s (%s)", time.Since(begin).Round(time.Millisecond), env.URL)
	t.Cleanup(env.Stop)
	ctx := t.Context()
	admin := clientset(t, env.Config("admin"))

	t.Run("admin creates a namespace and a Secret", func(t *testing.T) {
		createNamespace(t, admin, "admin-ns")
		if _, err := admin.CoreV1().Secrets("admin-ns").Create(ctx, secret("s"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("%v\n%s", err, env.Logs())
		}
	})
	t.Run("plain user is authenticated but forbidden", func(t *testing.T) {
		bob := clientset(t, env.Config("bob"))
		r, err := bob.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if u := r.Status.UserInfo; u.Username != "bob" || strings.Join(u.Groups, ",") != "system:authenticated" {
			t.Errorf("bob is %q in groups %q, want bob in system:authenticated only", u.Username, u.Groups)
		}
		_, err = bob.CoreV1().Secrets("default").Get(ctx, "any", metav1.GetOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("bob get secret: err = %v, want 403 Forbidden", err)
		}
	})
	t.Run("Role for secrets get, create, update", func(t *testing.T) {
		testRole(t, env, admin)
	})
	t.Run("ServiceAccountToken", func(t *testing.T) {
		testServiceAccountToken(t, env, admin)
	})
	t.Run("Kubeconfig", func(t *testing.T) {
		testKubeconfig(t, env)
	})

	env.Stop()
	env.Stop()
	if _, err := os.Stat(env.Dir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s: err = %v, want it removed", env.Dir, err)
	}
}

// testRole documents the RBAC behaviour the Secret writer relies on: with
// get, create and update on secrets, patch and server-side apply are
// refused, and a missing Secret reads as 404, not 403.
func testRole(t *testing.T, env *Env, admin kubernetes.Interface) {
	ctx := t.Context()
	const ns = "team-a"
	createNamespace(t, admin, ns)
	createNamespace(t, admin, "team-b")
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-writer"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "update"},
		}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-writer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}},
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	secrets := clientset(t, env.Config("alice")).CoreV1().Secrets(ns)
	// The authorizer reads RBAC objects through an informer: wait for it.
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err = secrets.Get(ctx, "missing", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			break
		}
	}
	if !apierrors.IsNotFound(err) {
		t.Fatalf("alice get missing secret: err = %v, want 404 NotFound", err)
	}

	if _, err := secrets.Create(ctx, secret("pull"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("alice create: %v", err)
	}
	got, err := secrets.Get(ctx, "pull", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("alice get: %v", err)
	}
	got.Data["k"] = []byte("v2")
	if _, err := secrets.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("alice update: %v", err)
	}

	for _, pt := range []types.PatchType{types.MergePatchType, types.StrategicMergePatchType, types.ApplyPatchType} {
		body := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"pull"},"stringData":{"k":"v3"}}`
		_, err := secrets.Patch(ctx, "pull", pt, []byte(body), metav1.PatchOptions{FieldManager: "test"})
		if !apierrors.IsForbidden(err) {
			t.Errorf("alice patch (%s): err = %v, want 403 Forbidden", pt, err)
		}
	}
	_, err = clientset(t, env.Config("alice")).CoreV1().Secrets("team-b").Get(ctx, "pull", metav1.GetOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("alice get secret in another namespace: err = %v, want 403 Forbidden", err)
	}
}

// testServiceAccountToken checks that an issued token authenticates: the
// API server knows who it is and refuses (403) rather than rejects (401).
func testServiceAccountToken(t *testing.T, env *Env, admin kubernetes.Interface) {
	ctx := t.Context()
	createNamespace(t, admin, "sa-ns")
	for range 2 { // the second call finds the ServiceAccount already there
		token, err := env.ServiceAccountToken(ctx, "sa-ns", "robot")
		if err != nil {
			t.Fatal(err)
		}
		cfg := rest.AnonymousClientConfig(env.Config("admin"))
		cfg.BearerToken = token
		robot := clientset(t, cfg)
		r, err := robot.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := r.Status.UserInfo.Username, "system:serviceaccount:sa-ns:robot"; got != want {
			t.Errorf("token authenticates as %q, want %q", got, want)
		}
		_, err = robot.CoreV1().Secrets("sa-ns").Get(ctx, "any", metav1.GetOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("service account get secret: err = %v, want 403 Forbidden", err)
		}
	}
}

func testKubeconfig(t *testing.T, env *Env) {
	for _, tc := range []struct {
		user, namespace, wantNamespace string
	}{
		{user: "carol", namespace: "team-c", wantNamespace: "team-c"},
		{user: "admin", namespace: "", wantNamespace: "default"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			path, err := env.Kubeconfig(tc.user, tc.namespace)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(path) != env.Dir {
				t.Errorf("kubeconfig at %s, want it under %s", path, env.Dir)
			}
			raw, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if c := raw.Contexts[raw.CurrentContext]; c == nil || c.Namespace != tc.namespace {
				t.Fatalf("current context %q = %+v, want namespace %q", raw.CurrentContext, c, tc.namespace)
			}
			cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
				&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{})
			if ns, _, err := cc.Namespace(); err != nil || ns != tc.wantNamespace {
				t.Errorf("Namespace() = %q, %v, want %q", ns, err, tc.wantNamespace)
			}
			cfg, err := cc.ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			r, err := clientset(t, cfg).AuthenticationV1().SelfSubjectReviews().Create(
				t.Context(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status.UserInfo.Username != tc.user {
				t.Errorf("kubeconfig authenticates as %q, want %q", r.Status.UserInfo.Username, tc.user)
			}
		})
	}
}

func clientset(t *testing.T, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func createNamespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

func secret(name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Data:       map[string][]byte{"k": []byte("v")},
	}
}

func TestRequestsAreAudited(t *testing.T) {
	env, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	cs := clientset(t, env.Config("dave"))
	_, err = cs.CoreV1().Secrets("default").Get(context.Background(), "missing", metav1.GetOptions{})
	if err == nil {
		t.Fatal("dave may not read secrets")
	}
	reqs, err := env.Requests("dave")
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].Verb != "get" || reqs[0].ResponseStatus.Code != 403 {
		t.Fatalf("audited %+v, want one forbidden get", reqs)
	}
}
