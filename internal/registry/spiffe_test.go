package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// svidFiles fetches the workload's X.509-SVID and its trust bundle from
// SPIRE's Workload API and writes them as PEM files: the SVID's chain and
// key (a registry's serving certificate) and the bundle (a registry's
// client CA).
func svidFiles(t *testing.T, spire *testenv.SPIRE) (certFile, keyFile, bundleFile string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x509ctx, err := workloadapi.FetchX509Context(ctx, workloadapi.WithAddr(spire.SocketAddr))
	if err != nil {
		t.Fatalf("fetch the X.509-SVID: %v\n%s", err, spire.Logs())
	}
	certPEM, keyPEM, err := x509ctx.DefaultSVID().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := x509ctx.Bundles.GetX509BundleForTrustDomain(spiffeid.RequireTrustDomainFromString(testenv.SPIRETrustDomain))
	if err != nil {
		t.Fatal(err)
	}
	bundlePEM, err := bundle.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, bundleFile = filepath.Join(dir, "svid.crt"), filepath.Join(dir, "svid.key"), filepath.Join(dir, "bundle.crt")
	for path, data := range map[string][]byte{certFile: certPEM, keyFile: keyPEM, bundleFile: bundlePEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, bundleFile
}

// TestSPIFFE: with SPIRE's Workload API, the client verifies a registry
// serving an X.509-SVID by SPIFFE ID or trust domain, and presents its own
// X.509-SVID to a registry whose client CA is the SPIRE bundle.
func TestSPIFFE(t *testing.T) {
	spire, err := testenv.StartSPIRE()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(spire.Stop)
	t.Setenv(workloadapi.SocketEnv, spire.SocketAddr)
	svidCert, svidKey, bundle := svidFiles(t, spire)

	t.Run("server presents an X.509-SVID", func(t *testing.T) {
		reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true, TLS: &testenv.RegistryTLS{CertFile: svidCert, KeyFile: svidKey}})
		for _, tc := range []struct {
			name    string
			s       config.SPIFFEServer
			refusal string // empty: accepted
		}{
			{"serverID", config.SPIFFEServer{ServerID: testenv.SPIREWorkloadID}, ""},
			{"trustDomain self", config.SPIFFEServer{TrustDomain: config.TrustDomainSelf}, ""},
			{"trustDomain", config.SPIFFEServer{TrustDomain: testenv.SPIRETrustDomain}, ""},
			{"authorizeAny", config.SPIFFEServer{AuthorizeAny: true}, ""},
			{"another serverID", config.SPIFFEServer{ServerID: "spiffe://example.org/someone-else"}, "unexpected ID"},
			{"another trustDomain", config.SPIFFEServer{TrustDomain: "other.example"}, "unexpected trust domain"},
			// v1beta2's prefix rule: a serverID ending in / accepts the
			// IDs under it, on a segment boundary.
			{"serverID prefix", config.SPIFFEServer{ServerID: parentOf(testenv.SPIREWorkloadID)}, ""},
			{"serverID trust domain prefix", config.SPIFFEServer{ServerID: "spiffe://" + testenv.SPIRETrustDomain + "/"}, ""},
			{"serverID prefix of another path", config.SPIFFEServer{ServerID: parentOf(testenv.SPIREWorkloadID) + "other/"}, "want one under"},
			{"serverID prefix without the boundary", config.SPIFFEServer{ServerID: strings.TrimSuffix(testenv.SPIREWorkloadID, lastSegment(testenv.SPIREWorkloadID)) + lastSegment(testenv.SPIREWorkloadID)[:2] + "/"}, "want one under"},
			{"serverID prefix is the ID itself", config.SPIFFEServer{ServerID: testenv.SPIREWorkloadID + "/"}, "want one under"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, _ := newRegistries(t, t.TempDir(), config.Host{Host: reg.Host, TLS: &config.TLS{
					ServerAuth: &config.ServerAuth{SPIFFE: &tc.s},
				}})
				ref := reg.Host + "/demo/" + strings.ToLower(strings.ReplaceAll(tc.name, " ", "-")) + ":v1"
				if tc.refusal == "" {
					roundTrip(t, ref, r.RemoteOptions())
					return
				}
				err := push(ref, randomImage(t, 1, 1024), r.RemoteOptions())
				if err == nil || !strings.Contains(err.Error(), tc.refusal) || !strings.Contains(err.Error(), reg.Host) {
					t.Fatalf("err = %v, want %q naming %s", err, tc.refusal, reg.Host)
				}
			})
		}
		t.Run("without spiffe", func(t *testing.T) {
			r, _ := newRegistries(t, t.TempDir())
			err := push(reg.Host+"/demo/plain:v1", randomImage(t, 1, 1024), r.RemoteOptions())
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("err = %v, want the server's SVID refused by the system roots", err)
			}
		})
	})

	t.Run("client presents its X.509-SVID", func(t *testing.T) {
		ca := testenv.NewCA(t)
		cert, key := ca.IssueServer(t)
		reg := testenv.StartRegistryWith(t, testenv.RegistryOptions{Debian: true, TLS: &testenv.RegistryTLS{
			CertFile: cert, KeyFile: key, ClientCAFiles: []string{bundle},
		}})
		serverAuth := &config.ServerAuth{Value: string(ca.PEM)}
		r, _ := newRegistries(t, t.TempDir(), config.Host{Host: reg.Host, TLS: &config.TLS{
			ServerAuth: serverAuth,
			ClientAuth: &config.ClientAuth{SPIFFE: true},
		}})
		roundTrip(t, reg.Host+"/demo/app:v1", r.RemoteOptions())
		// The Workload API source opened in New is closed by Close.
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.tls.source.GetX509SVID(); err == nil {
			t.Error("the X.509 source is still open after Close")
		}

		without, _ := newRegistries(t, t.TempDir(), config.Host{Host: reg.Host, TLS: &config.TLS{ServerAuth: serverAuth}})
		if err := push(reg.Host+"/demo/app:v2", randomImage(t, 1, 1024), without.RemoteOptions()); err == nil {
			t.Fatal("the registry accepted a client without a certificate")
		}
		checkNoClientCertificate(t, reg)
	})
}

// TestSPIFFEWithoutWorkloadAPI: a host that needs the Workload API fails in
// New, naming the host and the field, when no socket is configured.
func TestSPIFFEWithoutWorkloadAPI(t *testing.T) {
	t.Setenv(workloadapi.SocketEnv, "")
	_, err := New(context.Background(), Options{Root: t.TempDir(), Hosts: []config.Host{{
		Host: "r.example", TLS: &config.TLS{ClientAuth: &config.ClientAuth{SPIFFE: true}},
	}}})
	if err == nil || !strings.Contains(err.Error(), `host "r.example"`) || !strings.Contains(err.Error(), "tls.clientAuth") ||
		!strings.Contains(err.Error(), workloadapi.SocketEnv) {
		t.Fatalf("err = %v", err)
	}
}

// parentOf is a SPIFFE ID's parent path with its trailing slash.
func parentOf(id string) string { return strings.TrimSuffix(id, lastSegment(id)) }

// lastSegment is the last path segment of a SPIFFE ID.
func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }
