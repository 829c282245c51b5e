package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestPolicyExampleConfinesCreate shows what the ClusterRole's create rule
// allows on its own: the identity creates, in a namespace it never writes
// to, a Secret named regcreds of type kubernetes.io/service-account-token,
// which its get rule would let it read once Kubernetes filled it. With
// the ValidatingAdmissionPolicy of many-namespaces/policy.yaml that create
// is refused, and so is any Secret but the Docker config regcreds, while
// the run writes as before.
func TestPolicyExampleConfinesCreate(t *testing.T) {
	ctx := context.Background()
	labels, selector := labelSelector("policy")
	selected := newNamespace(t, labels)
	elsewhere := newNamespace(t, nil)
	id := newIdentity(t)
	must(t, env.GrantClusterRole(ctx, exampleClusterRole(t), id.subject))
	cfg := env.Config("admin")
	cfg.BearerToken = id.token
	as, err := kubernetes.NewForConfig(cfg)
	must(t, err)
	tokenSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcreds", Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}
	if _, err := as.CoreV1().Secrets(elsewhere).Create(ctx, tokenSecret, metav1.CreateOptions{}); err != nil {
		t.Fatalf("without the policy the create rule should reach every namespace: %v", err)
	}
	must(t, admin(t).CoreV1().Secrets(elsewhere).Delete(ctx, "regcreds", metav1.DeleteOptions{}))

	var policy admissionv1.ValidatingAdmissionPolicy
	var binding admissionv1.ValidatingAdmissionPolicyBinding
	must(t, testenv.ReadExample("examples/cluster/many-namespaces/policy.yaml", "ValidatingAdmissionPolicy", &policy))
	must(t, testenv.ReadExample("examples/cluster/many-namespaces/policy.yaml", "ValidatingAdmissionPolicyBinding", &binding))
	const exampleUser = "system:serviceaccount:flux-system:flux-mirror-secrets"
	if !strings.Contains(policy.Spec.MatchConditions[0].Expression, exampleUser) {
		t.Fatalf("the policy no longer matches %s: %s", exampleUser, policy.Spec.MatchConditions[0].Expression)
	}
	policy.Spec.MatchConditions[0].Expression = strings.Replace(policy.Spec.MatchConditions[0].Expression, exampleUser, id.user, 1)
	policy.Name += "-" + selected
	binding.Name, binding.Spec.PolicyName = policy.Name, policy.Name
	vaps := admin(t).AdmissionregistrationV1()
	_, err = vaps.ValidatingAdmissionPolicies().Create(ctx, &policy, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { _ = vaps.ValidatingAdmissionPolicies().Delete(ctx, policy.Name, metav1.DeleteOptions{}) })
	_, err = vaps.ValidatingAdmissionPolicyBindings().Create(ctx, &binding, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { _ = vaps.ValidatingAdmissionPolicyBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{}) })

	// The API server learns of the policy through a watch.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err = as.CoreV1().Secrets(elsewhere).Create(ctx, tokenSecret, metav1.CreateOptions{})
		if err != nil || time.Now().After(deadline) {
			break
		}
		must(t, admin(t).CoreV1().Secrets(elsewhere).Delete(ctx, "regcreds", metav1.DeleteOptions{}))
		time.Sleep(50 * time.Millisecond)
	}
	if err == nil || !strings.Contains(err.Error(), "may only create the kubernetes.io/dockerconfigjson Secret regcreds") {
		t.Fatalf("with the policy, a service-account-token Secret regcreds: %v", err)
	}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "anything"}, Type: corev1.SecretTypeOpaque}
	if _, err := as.CoreV1().Secrets(elsewhere).Create(ctx, other, metav1.CreateOptions{}); err == nil {
		t.Error("with the policy, an Opaque Secret of another name was created")
	}

	tok := randomSecret(t, "policy-token")
	r := run(t, nil, append([]string{"secret", "regcreds", "-f", mirrorConfig(t, "- host: ghcr.io\n  username: u\n  credential:\n    value: "+tok+"\n"),
		"--namespace-selector", selector}, id.args...)...)
	if r.err != nil || !hasSecret(t, selected) {
		t.Fatalf("the run under the policy: %v\n%s", r.err, r.stderr)
	}
}
