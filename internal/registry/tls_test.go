package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// copyInto copies src into dir under name and returns name, so that a
// config can refer to it by a relative path confined to dir.
func copyInto(t *testing.T, dir, name, src string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestPrivateCA: a registry whose certificate a private CA signed is
// trusted through tls.serverAuth (a file confined to the config's directory,
// or inline) and refused without it.
func TestPrivateCA(t *testing.T) {
	ca := testenv.NewCA(t)
	cert, key := ca.IssueServer(t)
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true, TLS: &testenv.RegistryTLS{CertFile: cert, KeyFile: key}})
	root := t.TempDir()
	caFile := copyInto(t, root, "ca.crt", ca.CertFile)

	for name, sa := range map[string]*config.ServerAuth{
		"fromPath": {FromPath: caFile},
		"value":    {Value: string(ca.PEM)},
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := newRegistries(t, root, config.Host{Host: reg.Host, TLS: &config.TLS{ServerAuth: sa}})
			roundTrip(t, reg.Host+"/demo/"+strings.ToLower(name)+":v1", r.RemoteOptions())
		})
	}
	t.Run("without the CA", func(t *testing.T) {
		r, _ := newRegistries(t, root)
		err := push(reg.Host+"/demo/app:v2", randomImage(t, 1, 1024), r.RemoteOptions())
		if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), reg.Host) {
			t.Fatalf("err = %v, want a certificate error naming %s", err, reg.Host)
		}
	})
	t.Run("path outside the config directory", func(t *testing.T) {
		// The CA is in root; a config in root/sub cannot reach it with
		// "..", which stays inside root/sub.
		sub := filepath.Join(root, "sub")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := New(t.Context(), Options{Root: sub, Hosts: []config.Host{{
			Host: reg.Host, TLS: &config.TLS{ServerAuth: &config.ServerAuth{FromPath: "../ca.crt"}},
		}}})
		if err == nil || !strings.Contains(err.Error(), "tls.serverAuth.fromPath") || !strings.Contains(err.Error(), reg.Host) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestClientCertificate: a registry that requires a client certificate
// accepts the one in tls.clientAuth and refuses a client without one.
func TestClientCertificate(t *testing.T) {
	ca := testenv.NewCA(t)
	cert, key := ca.IssueServer(t)
	clientCert, clientKey := ca.IssueClient(t, "flux-mirror")
	reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true, TLS: &testenv.RegistryTLS{
		CertFile: cert, KeyFile: key, ClientCAFiles: []string{ca.CertFile},
	}})
	root := t.TempDir()
	serverAuth := &config.ServerAuth{FromPath: copyInto(t, root, "ca.crt", ca.CertFile)}
	keyPEM, err := os.ReadFile(clientKey)
	if err != nil {
		t.Fatal(err)
	}

	r, _ := newRegistries(t, root, config.Host{Host: reg.Host, TLS: &config.TLS{
		ServerAuth: serverAuth,
		ClientAuth: &config.ClientAuth{
			Certificate: &config.PEMSource{FromPath: copyInto(t, root, "client.crt", clientCert)},
			Key:         &config.PEMSource{Value: string(keyPEM)},
		},
	}})
	roundTrip(t, reg.Host+"/demo/app:v1", r.RemoteOptions())

	without, _ := newRegistries(t, root, config.Host{Host: reg.Host, TLS: &config.TLS{ServerAuth: serverAuth}})
	err = push(reg.Host+"/demo/app:v2", randomImage(t, 1, 1024), without.RemoteOptions())
	if err == nil || !strings.Contains(err.Error(), reg.Host) {
		t.Fatalf("push without a client certificate: err = %v", err)
	}
	assertNoSecret(t, err, string(keyPEM))
	checkNoClientCertificate(t, reg)
}

// checkNoClientCertificate fails the test unless the registry refused a
// handshake for want of a client certificate. The client's own error
// varies: under TLS 1.3 the refusal comes after the handshake, as a
// broken pipe or a reset as often as an alert.
func checkNoClientCertificate(t *testing.T, reg *testenv.Registry) {
	t.Helper()
	refused := func() bool {
		return strings.Contains(strings.Join(reg.LogLines(t), "\n"), "didn't provide a certificate")
	}
	// The registry logs the refusal as it happens, which may be a moment
	// after the client gave up.
	for deadline := time.Now().Add(5 * time.Second); !refused() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !refused() {
		t.Fatalf("the registry logged no handshake refused for a missing client certificate:\n%s", reg.Log())
	}
}
