package kube

import (
	"context"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// TestFlagsMatchConfigFlags holds our kubectl flags equal to cli-runtime's
// ConfigFlags: same names, shorthands and types, so every flag kubectl
// users and the flux CLI pass is understood.
func TestFlagsMatchConfigFlags(t *testing.T) {
	want := pflag.NewFlagSet("want", pflag.ContinueOnError)
	genericclioptions.NewConfigFlags(true).AddFlags(want)
	got := pflag.NewFlagSet("got", pflag.ContinueOnError)
	(&Flags{}).AddFlags(got)

	want.VisitAll(func(w *pflag.Flag) {
		g := got.Lookup(w.Name)
		if g == nil {
			t.Errorf("flag --%s missing", w.Name)
			return
		}
		if g.Shorthand != w.Shorthand || g.Value.Type() != w.Value.Type() {
			t.Errorf("flag --%s: shorthand %q type %s, want %q %s", w.Name, g.Shorthand, g.Value.Type(), w.Shorthand, w.Value.Type())
		}
	})
}

func TestNamespaceResolution(t *testing.T) {
	withNS, err := env.Kubeconfig("alice", "team-a")
	if err != nil {
		t.Fatal(err)
	}
	withoutNS, err := env.Kubeconfig("alice", "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, kubeconfig, flag, want string
		explicit                     bool
	}{
		{"context namespace", withNS, "", "team-a", false},
		{"flag beats context", withNS, "team-b", "team-b", true},
		{"no namespace anywhere", withoutNS, "", "default", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			f := &Flags{KubeConfig: tc.kubeconfig, Namespace: tc.flag}
			ns, explicit, err := f.ResolveNamespace()
			if err != nil || ns != tc.want || explicit != tc.explicit {
				t.Fatalf("got %q explicit=%v err=%v, want %q explicit=%v", ns, explicit, err, tc.want, tc.explicit)
			}
		})
	}
}

func TestRESTConfigFromKubeconfigReachesTheServer(t *testing.T) {
	kc, err := env.Kubeconfig("admin", "default")
	if err != nil {
		t.Fatal(err)
	}
	f := &Flags{KubeConfig: kc, QPS: 7, Burst: 9}
	cfg, err := f.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.QPS != 7 || cfg.Burst != 9 {
		t.Errorf("QPS/Burst = %v/%v, want 7/9", cfg.QPS, cfg.Burst)
	}
	c, err := NewSecretClient(cfg, "default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpsertSecret(context.Background(), "from-kubeconfig", []byte(`{"auths":{}}`), Stamp{}, false); err != nil {
		t.Fatal(err)
	}
}

func TestNoKubeconfigOutsideAPodIsAClearError(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err := (&Flags{}).RESTConfig()
	if err == nil || err.Error() != "no Kubernetes configuration: set --kubeconfig or $KUBECONFIG, or run inside a pod" {
		t.Fatalf("err = %v", err)
	}
}
