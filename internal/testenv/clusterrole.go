package testenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// GrantClusterRole creates role and binds it to subject: cluster-wide with
// a ClusterRoleBinding when namespaces is empty, else with a RoleBinding
// in each of namespaces. It waits until the API server enforces the
// binding, probing the first verb of the role's first rule, so role must
// grant at least one.
func (e *Env) GrantClusterRole(ctx context.Context, role *rbacv1.ClusterRole, subject rbacv1.Subject, namespaces ...string) error {
	cs, err := kubernetes.NewForConfig(e.Config(adminUser))
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("testenv: create ClusterRole: %w", err)
	}
	ref := rbacv1.RoleRef{Kind: "ClusterRole", Name: role.Name, APIGroup: rbacv1.GroupName}
	meta := metav1.ObjectMeta{Name: role.Name}
	if len(namespaces) == 0 {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: meta, Subjects: []rbacv1.Subject{subject}, RoleRef: ref}
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("testenv: create ClusterRoleBinding: %w", err)
		}
	}
	for _, ns := range namespaces {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: ns}, Subjects: []rbacv1.Subject{subject}, RoleRef: ref}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("testenv: create RoleBinding in %s: %w", ns, err)
		}
	}
	if len(role.Rules) == 0 || len(role.Rules[0].Verbs) == 0 {
		return fmt.Errorf("testenv: ClusterRole %s grants nothing to wait for", role.Name)
	}
	r := role.Rules[0]
	attrs := &authorizationv1.ResourceAttributes{Verb: r.Verbs[0], Resource: r.Resources[0]}
	if len(r.ResourceNames) > 0 {
		attrs.Name = r.ResourceNames[0]
	}
	if len(namespaces) > 0 {
		attrs.Namespace = namespaces[0]
	}
	return waitAllowed(ctx, cs, userOf(subject), attrs)
}

// userOf is the user name the API server gives subject.
func userOf(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return "system:serviceaccount:" + s.Namespace + ":" + s.Name
	}
	return s.Name
}

// waitAllowed polls a SubjectAccessReview until the authorizer, which
// learns of new bindings through a watch, allows user attrs.
func waitAllowed(ctx context.Context, cs kubernetes.Interface, user string, attrs *authorizationv1.ResourceAttributes) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	groups := []string{"system:authenticated"}
	if strings.HasPrefix(user, "system:serviceaccount:") {
		groups = append(groups, "system:serviceaccounts")
	}
	for {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: attrs}}
		got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err == nil && got.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testenv: %s is still not allowed to %s %s: %v", user, attrs.Verb, attrs.Resource, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
