package flux

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// exampleResources maps the kinds of the example manifests this test
// applies to their resources.
var exampleResources = map[string]schema.GroupVersionResource{
	"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
	"Role":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"OCIRepository":  ociRepositories,
}

// TestClusterExampleOCIRepository applies examples/cluster/rbac.yaml and
// examples/cluster/flux/ocirepository.yaml as they are written (the
// namespace is flux-system; only the OCIRepository's url is pointed at a
// registry with htpasswd auth, over plain HTTP), runs `flux-mirror secret
// regcreds` as the example's ServiceAccount, and waits for
// source-controller to report the example Ready.
func TestClusterExampleOCIRepository(t *testing.T) {
	c := startCluster(t, "flux-system")
	reg := testenv.StartHtpasswdRegistry(t, "robot", "example-password-5e")
	push := testenv.DockerConfigWith(t, map[string]map[string]string{reg.Host: testenv.BasicAuth("robot", "example-password-5e")})
	digest := testenv.PushTestImage(t, reg.Host+"/team/app:v1.0.0", push)

	examples := filepath.Join("..", "..", "examples", "cluster")
	for _, o := range testenv.ReadObjects(t, filepath.Join(examples, "rbac.yaml")) {
		c.create(t, exampleResources[o.GetKind()], o)
	}
	ctx := context.Background()
	const sa = "system:serviceaccount:flux-system:flux-mirror"
	for _, verb := range []string{"get", "update", "create"} {
		attrs := authorizationv1.ResourceAttributes{Namespace: "flux-system", Verb: verb, Resource: "secrets", Name: "regcreds"}
		if err := c.env.WaitAllowed(ctx, sa, attrs); err != nil {
			t.Fatal(err)
		}
	}
	token, err := c.env.ServiceAccountToken(ctx, "flux-system", "flux-mirror")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "mirror.yaml")
	if err := os.WriteFile(cfg, []byte(basicConfig(reg.Host)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fluxMirror(t, []string{"REGISTRY_PASSWORD=example-password-5e"},
		"secret", "regcreds", "-f", cfg, "--kubeconfig", c.kc, "--token", token)

	var names []string
	for _, o := range testenv.ReadObjects(t, filepath.Join(examples, "flux", "ocirepository.yaml")) {
		if o.GetKind() != "OCIRepository" {
			t.Fatalf("ocirepository.yaml: unexpected %s", o.GetKind())
		}
		if s, _, _ := unstructured.NestedString(o.Object, "spec", "secretRef", "name"); s != "regcreds" {
			t.Fatalf("ocirepository.yaml: secretRef %q, want regcreds (the Secret of rbac.yaml's Role)", s)
		}
		_ = unstructured.SetNestedField(o.Object, "oci://"+reg.Host+"/team/app", "spec", "url")
		_ = unstructured.SetNestedField(o.Object, true, "spec", "insecure")
		c.create(t, ociRepositories, o)
		names = append(names, o.GetName())
	}
	if len(names) == 0 {
		t.Fatal("ocirepository.yaml holds no OCIRepository")
	}
	for _, name := range names {
		o := c.waitReady(t, ociRepositories, name)
		if rev, _ := artifact(o); rev != "v1.0.0@"+digest {
			t.Errorf("%s: artifact revision %q, want v1.0.0@%s", name, rev, digest)
		}
	}
}
