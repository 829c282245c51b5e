package consumers

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubernetes/pkg/credentialprovider"
	"k8s.io/kubernetes/pkg/credentialprovider/secrets"

	"github.com/fluxcd/flux-mirror/internal/fakecloud"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

const config = `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: registry.example.com
    username: robot
    credential:
      value: basic-password-3c1f
  - host: bearer.example.com
    credential:
      value: bearer-token-9a7d
  - host: localhost:5000
    username: local
    credential:
      value: port-password-55e0
  - host: docker.io
    username: hubuser
    credential:
      value: hub-password-0b4e
  - host: 123456789012.dkr.ecr.us-west-2.amazonaws.com
    provider: ecr
`

// ecrHost is the provider host; the loopback AWS fake issues its password.
const ecrHost = "123456789012.dkr.ecr.us-west-2.amazonaws.com"

// want is what a consumer should find for an image: a username/password
// pair, a bearer token, or nothing.
type want struct {
	user, pass, bearer string
}

var images = map[string]want{
	"registry.example.com/team/app:1.0":                          {user: "robot", pass: "basic-password-3c1f"},
	"registry.example.com/app@sha256:" + strings.Repeat("a", 64): {user: "robot", pass: "basic-password-3c1f"},
	"localhost:5000/app:latest":                                  {user: "local", pass: "port-password-55e0"},
	"nginx":                                                      {user: "hubuser", pass: "hub-password-0b4e"},
	"library/nginx:1.27":                                         {user: "hubuser", pass: "hub-password-0b4e"},
	"docker.io/fluxcd/flux:v2":                                   {user: "hubuser", pass: "hub-password-0b4e"},
	"index.docker.io/fluxcd/flux:v2":                             {user: "hubuser", pass: "hub-password-0b4e"},
	"bearer.example.com/app:1":                                   {bearer: "bearer-token-9a7d"},
	"elsewhere.example.com/app:1":                                {},
	"localhost:5001/app:latest":                                  {},
}

// writeSecret runs the flux-mirror binary against a real API server, with
// static AWS keys and the ECR endpoint of a loopback AWS fake, and reads the
// Secret it wrote back. It returns the ECR password the fake issued.
func writeSecret(t *testing.T) (corev1.Secret, string) {
	t.Helper()
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Stop)
	dir := t.TempDir()
	bin := filepath.Join(dir, "flux-mirror")
	build := exec.Command("go", "build", "-o", bin, "./cmd/flux-mirror")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flux-mirror: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "mirror.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	kc, err := env.Kubeconfig("admin", "default")
	if err != nil {
		t.Fatal(err)
	}
	aws := fakecloud.NewAWS(t)
	id, key := aws.StaticKey()
	run := exec.Command(bin, "secret", "regcreds", "-f", cfg, "--kubeconfig", kc)
	run.Env = append(withoutAWS(os.Environ()), "HOME="+dir, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID="+id, "AWS_SECRET_ACCESS_KEY="+key, "AWS_ENDPOINT_URL_ECR="+aws.URL,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("flux-mirror secret: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "⚠️ bearer.example.com gets a bearer token") {
		t.Errorf("no warning that kubelet ignores the bearer host:\n%s", out)
	}
	cs, err := kubernetes.NewForConfig(env.Config("admin"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cs.CoreV1().Secrets("default").Get(context.Background(), "regcreds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pw := aws.ECRPasswords()
	if len(pw) != 1 {
		t.Fatalf("the AWS fake issued %d ECR passwords, want 1", len(pw))
	}
	return *s, pw[0]
}

// withoutAWS drops the machine's AWS_ settings (this one presets
// AWS_CA_BUNDLE), so only the fake's apply.
func withoutAWS(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

func TestConsumersFindTheCredentials(t *testing.T) {
	secret, ecrPassword := writeSecret(t)
	images := maps.Clone(images)
	images[ecrHost+"/team/app:2.1"] = want{user: "AWS", pass: ecrPassword}

	t.Run("kubelet", func(t *testing.T) {
		keyring, err := secrets.MakeDockerKeyring([]corev1.Secret{secret}, &credentialprovider.BasicDockerKeyring{})
		if err != nil {
			t.Fatal(err)
		}
		for image, w := range images {
			found, _ := keyring.Lookup(image)
			var got []string
			for _, c := range found {
				// kubelet reads no registrytoken: a bearer-only entry gives it
				// an empty pair, which is no credential at all.
				if c.Username != "" || c.Password != "" {
					got = append(got, c.Username+":"+c.Password)
				}
			}
			expect := []string{}
			if w.user != "" {
				expect = append(expect, w.user+":"+w.pass)
			}
			if fmt.Sprint(got) != fmt.Sprint(expect) {
				t.Errorf("kubelet, %s: found %d credentials %v, want %v", image, len(got), redact(got), redact(expect))
			}
		}
	})

	t.Run("go-containerregistry (Flux)", func(t *testing.T) {
		kc, err := kauth.NewFromPullSecrets(context.Background(), []corev1.Secret{secret})
		if err != nil {
			t.Fatal(err)
		}
		for image, w := range images {
			ref, err := name.ParseReference(image)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.Resolve(ref.Context())
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := authn.Authorization(context.Background(), a)
			if err != nil {
				t.Fatal(err)
			}
			got := want{user: cfg.Username, pass: cfg.Password, bearer: cfg.RegistryToken}
			if cfg.Auth != "" && got.user == "" {
				raw, _ := base64.StdEncoding.DecodeString(cfg.Auth)
				got.user, got.pass, _ = strings.Cut(string(raw), ":")
			}
			if got != w {
				t.Errorf("go-containerregistry, %s: got user %q (password set: %v, token set: %v), want user %q (password set: %v, token set: %v)",
					image, got.user, got.pass != "", got.bearer != "", w.user, w.pass != "", w.bearer != "")
			}
		}
	})
}

func redact(creds []string) []string {
	out := make([]string, len(creds))
	for i, c := range creds {
		user, _, _ := strings.Cut(c, ":")
		out[i] = user + ":***"
	}
	return out
}
