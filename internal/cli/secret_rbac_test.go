package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// grant is one verb of one rule of a role example.
type grant struct {
	rule int
	verb string
}

// grants lists every verb of rules, so each can be taken away in turn.
func grants(rules []rbacv1.PolicyRule) []grant {
	var out []grant
	for i, r := range rules {
		for _, v := range r.Verbs {
			out = append(out, grant{i, v})
		}
	}
	return out
}

// without returns rules less g, dropping a rule left with no verb.
func without(rules []rbacv1.PolicyRule, g grant) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for i, r := range rules {
		r = *r.DeepCopy()
		if i == g.rule {
			r.Verbs = slices.DeleteFunc(r.Verbs, func(v string) bool { return v == g.verb })
			if len(r.Verbs) == 0 {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// TestClusterRoleExampleIsEnoughAndEveryVerbIsNeeded runs the CronJob of
// examples/cluster/many-namespaces (a selector, --service-account
// default) with the example's ClusterRole: it writes both namespaces, one
// holding the Secret already. Then, for each verb of each rule, with a
// copy of the ClusterRole lacking it: the run fails and says which verb on
// which resource was refused.
func TestClusterRoleExampleIsEnoughAndEveryVerbIsNeeded(t *testing.T) {
	example, err := testenv.SecretClusterRole()
	must(t, err)
	cases := []*grant{nil}
	for _, g := range grants(example.Rules) {
		cases = append(cases, &g)
	}
	cfg := mirrorConfig(t, "- host: ghcr.io\n  username: u\n  credential:\n    value: "+randomSecret(t, "rbac-token")+"\n")
	for _, g := range cases {
		name := "the whole ClusterRole"
		if g != nil {
			name = fmt.Sprintf("without %s on %s", g.verb, example.Rules[g.rule].Resources[0])
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			labels, selector := labelSelector("rbac")
			names := newNamespaces(t, 2, 2, labels)
			for _, ns := range names {
				_, err := admin(t).CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
				must(t, err)
			}
			_, err := admin(t).CoreV1().Secrets(names[0]).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "regcreds"}, Type: corev1.SecretTypeDockerConfigJson,
				Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
			}, metav1.CreateOptions{})
			must(t, err)
			role := exampleClusterRole(t)
			if g != nil {
				role.Rules = without(role.Rules, *g)
			}
			id := newIdentity(t)
			must(t, env.GrantClusterRole(ctx, role, id.subject))

			r := run(t, nil, append([]string{"secret", "regcreds", "-f", cfg, "--namespace-selector", selector, "--service-account", "default"}, id.args...)...)
			if g == nil {
				if r.err != nil {
					t.Fatalf("%v\n%s", r.err, r.stderr)
				}
				for _, ns := range names {
					if !hasSecret(t, ns) {
						t.Errorf("no Secret in %s", ns)
					}
					sa, err := admin(t).CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
					must(t, err)
					if len(sa.ImagePullSecrets) != 1 || sa.ImagePullSecrets[0].Name != "regcreds" {
						t.Errorf("%s/default: imagePullSecrets = %v", ns, sa.ImagePullSecrets)
					}
				}
				return
			}
			want := fmt.Sprintf(`cannot %s resource %q`, g.verb, example.Rules[g.rule].Resources[0])
			if r.code != 1 || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, want) {
				t.Errorf("exit status %d, want 1 and a line saying %q:\n%s", r.code, want, r.stderr)
			}
		})
	}
}

// TestRoleExampleIsEnoughAndEveryVerbIsNeeded does the same for the Role
// of examples/cluster/rbac.yaml, one namespace: a first run creates the
// Secret and a second replaces it, and without any one verb one of them
// fails naming it.
func TestRoleExampleIsEnoughAndEveryVerbIsNeeded(t *testing.T) {
	example, err := testenv.SecretRole("")
	must(t, err)
	cases := []*grant{nil}
	for _, g := range grants(example.Rules) {
		cases = append(cases, &g)
	}
	cfg := mirrorConfig(t, "- host: ghcr.io\n  username: u\n  credential:\n    value: "+randomSecret(t, "role-rbac-token")+"\n")
	for _, g := range cases {
		name := "the whole Role"
		if g != nil {
			name = fmt.Sprintf("without %s on %s", g.verb, example.Rules[g.rule].Resources[0])
		}
		t.Run(name, func(t *testing.T) {
			ns := newNamespace(t, nil)
			role, err := testenv.SecretRole(ns)
			must(t, err)
			if g != nil {
				role.Rules = without(role.Rules, *g)
			}
			id := newIdentity(t)
			must(t, env.GrantRole(context.Background(), role, id.subject))
			var out strings.Builder
			failed := false
			for range 2 {
				r := run(t, nil, append([]string{"secret", "regcreds", "-f", cfg, "-n", ns}, id.args...)...)
				out.WriteString(r.stderr)
				failed = failed || r.code != 0
			}
			if g == nil {
				if failed {
					t.Fatal(out.String())
				}
				return
			}
			want := fmt.Sprintf(`cannot %s resource %q`, g.verb, example.Rules[g.rule].Resources[0])
			if !failed || !strings.Contains(out.String(), "permission denied") || !strings.Contains(out.String(), want) {
				t.Errorf("want a failed run saying %q:\n%s", want, out.String())
			}
		})
	}
}
