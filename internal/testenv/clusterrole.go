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
	attrs, err := firstGrant(role.Name, role.Rules)
	if err != nil {
		return err
	}
	if len(namespaces) > 0 {
		attrs.Namespace = namespaces[0]
	}
	return waitAllowed(ctx, cs, userOf(subject), attrs)
}

// GrantRole creates role and a RoleBinding of it to subject in its
// namespace, and waits until the API server enforces it, probing the first
// verb of the role's first rule.
func (e *Env) GrantRole(ctx context.Context, role *rbacv1.Role, subject rbacv1.Subject) error {
	cs, err := kubernetes.NewForConfig(e.Config(adminUser))
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	if _, err := cs.RbacV1().Roles(role.Namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("testenv: create Role: %w", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: role.Namespace},
		Subjects:   []rbacv1.Subject{subject},
		RoleRef:    rbacv1.RoleRef{Kind: "Role", Name: role.Name, APIGroup: rbacv1.GroupName},
	}
	if _, err := cs.RbacV1().RoleBindings(role.Namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("testenv: create RoleBinding: %w", err)
	}
	attrs, err := firstGrant(role.Name, role.Rules)
	if err != nil {
		return err
	}
	attrs.Namespace = role.Namespace
	return waitAllowed(ctx, cs, userOf(subject), attrs)
}

// firstGrant is the first verb of the first rule, as the attributes of an
// access review.
func firstGrant(role string, rules []rbacv1.PolicyRule) (*authorizationv1.ResourceAttributes, error) {
	if len(rules) == 0 || len(rules[0].Verbs) == 0 || len(rules[0].Resources) == 0 {
		return nil, fmt.Errorf("testenv: role %s grants nothing to wait for", role)
	}
	r := rules[0]
	attrs := &authorizationv1.ResourceAttributes{Verb: r.Verbs[0], Resource: r.Resources[0]}
	if len(r.ResourceNames) > 0 {
		attrs.Name = r.ResourceNames[0]
	}
	return attrs, nil
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

// WaitAllowed waits until the API server's authorizer allows user (a plain
// user or system:serviceaccount:NS:NAME) attrs, for a test that applied a
// Role and RoleBinding itself (an example's, as written).
func (e *Env) WaitAllowed(ctx context.Context, user string, attrs authorizationv1.ResourceAttributes) error {
	cs, err := kubernetes.NewForConfig(e.Config(adminUser))
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	return waitAllowed(ctx, cs, user, &attrs)
}
