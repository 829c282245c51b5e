package flux

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// fluxContentType is the layer media type of `flux push artifact`.
const fluxContentType = "application/vnd.cncf.flux.content.v1.tar+gzip"

// TestVerifiedFluxArtifactFromMirror: a Flux artifact pushed with the real
// `flux push artifact` and signed with cosign (key, tag-based signature)
// is mirrored by flux-mirror sync with its referrers into a registry with
// htpasswd auth; source-controller, given the Secret flux-mirror wrote,
// extracts the Flux layer and its own cosign verification accepts the
// mirrored copy with the signer's public key, and refuses it with another
// key.
func TestVerifiedFluxArtifactFromMirror(t *testing.T) {
	c := startCluster(t, "flux-artifact")
	src := testenv.StartRegistryWith(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistryWith(t, testenv.RegistryOptions{User: "robot", Password: "mirror-password-4d"})

	manifests := t.TempDir()
	if err := os.WriteFile(filepath.Join(manifests, "configmap.yaml"),
		[]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  greeting: hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	ref := src.Host + "/team/app:v1.0.0"
	if out, err := testenv.RunClient(t, testenv.Tool(t, "flux"), home, nil, "push", "artifact", "oci://"+ref,
		"--path", manifests, "--source", "https://git.example.com/team/app", "--revision", "v1.0.0@sha1:0123456789abcdef0123456789abcdef01234567",
		"--insecure-registry"); err != nil {
		t.Fatalf("flux push artifact: %v\n%s", err, out)
	}
	out, err := testenv.RunClient(t, testenv.Tool(t, "crane"), home, nil, "digest", ref)
	if err != nil {
		t.Fatalf("crane digest: %v\n%s", err, out)
	}
	digest := strings.TrimSpace(out)
	signer := testenv.NewCosign(t)
	signer.Sign(t, src.Host+"/team/app@"+digest)

	config := basicConfig(dst.Host) + fmt.Sprintf(`artifacts:
  - source: %s/team/app
    destination: %s/mirror/app
    selector:
      semver: ">=1.0.0"
    includeReferrers: true
`, src.Host, dst.Host)
	cfg := filepath.Join(t.TempDir(), "mirror.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	pass := "REGISTRY_PASSWORD=mirror-password-4d"
	c.fluxMirror(t, []string{pass}, "sync", cfg, "--insecure")
	c.writeSecret(t, "regcreds", config, pass)

	c.publicKeySecret(t, "cosign-signer", signer.Pub)
	c.publicKeySecret(t, "cosign-other", testenv.NewCosign(t).Pub)
	for name, key := range map[string]string{"app": "cosign-signer", "app-other-key": "cosign-other"} {
		o := withSecretRef(ociRepository(name, "oci://"+dst.Host+"/mirror/app", "v1.0.0"), "regcreds")
		_ = unstructured.SetNestedField(o.Object, map[string]any{"mediaType": fluxContentType, "operation": "extract"}, "spec", "layerSelector")
		_ = unstructured.SetNestedField(o.Object, map[string]any{"provider": "cosign", "secretRef": map[string]any{"name": key}}, "spec", "verify")
		c.create(t, ociRepositories, o)
	}

	o := c.waitReady(t, ociRepositories, "app")
	if !testenv.HasCondition(o, "SourceVerified", "True") {
		cond, _ := testenv.Condition(o, "SourceVerified")
		t.Errorf("SourceVerified is %q (%s), want True", cond.Status, cond.Message)
	}
	if rev, _ := artifact(o); rev != "v1.0.0@"+digest {
		t.Errorf("artifact revision %q, want v1.0.0@%s (the digest flux pushed to the source)", rev, digest)
	}

	c.waitFor(t, ociRepositories, "app-other-key", "refused by verification", func(o *unstructured.Unstructured) bool {
		return testenv.HasCondition(o, "SourceVerified", "False") && testenv.HasCondition(o, "Ready", "False")
	})
}

// publicKeySecret creates Secret name holding the cosign public key in
// file pub under cosign.pub, as .spec.verify.secretRef expects.
func (c *cluster) publicKeySecret(t *testing.T, name, pub string) {
	t.Helper()
	key, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"cosign.pub": key}}
	if _, err := c.cs.CoreV1().Secrets(c.ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
