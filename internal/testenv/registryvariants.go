package testenv

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a private certificate authority made for one test: it issues
// loopback serving certificates and client certificates.
type CA struct {
	// CertFile is the CA certificate in PEM.
	CertFile string
	// PEM is the CA certificate.
	PEM  []byte
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var caSerial atomic.Int64

// NewCA makes a CA whose files live in a temporary directory of the test.
func NewCA(t testing.TB) *CA {
	t.Helper()
	now := time.Now()
	cert, key, err := newCert(&x509.Certificate{
		SerialNumber:          big.NewInt(caSerial.Add(1)),
		Subject:               pkix.Name{CommonName: "flux-mirror-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{dir: t.TempDir(), cert: cert, key: key}
	ca.PEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	ca.CertFile = filepath.Join(ca.dir, "ca.crt")
	writeTestFile(t, ca.CertFile, string(ca.PEM))
	return ca
}

// IssueServer issues a serving certificate for 127.0.0.1, ::1 and
// localhost and returns the paths of the certificate and its key.
func (ca *CA) IssueServer(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	return ca.issue(t, "server", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	})
}

// IssueClient issues a client certificate for name and returns the paths
// of the certificate and its key.
func (ca *CA) IssueClient(t testing.TB, name string) (certFile, keyFile string) {
	t.Helper()
	return ca.issue(t, "client-"+name, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

func (ca *CA) issue(t testing.TB, base string, tmpl *x509.Certificate) (certFile, keyFile string) {
	t.Helper()
	now := time.Now()
	tmpl.SerialNumber = big.NewInt(caSerial.Add(1))
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	cert, key, err := newCert(tmpl, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(ca.dir, base+".crt"), filepath.Join(ca.dir, base+".key")
	writeTestFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
	if err := writeECKey(keyFile, key); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// RegistryOptions choose a registry variant for StartRegistryWith.
type RegistryOptions struct {
	// Debian runs Debian's docker-registry (distribution 2.8) instead of
	// distribution v3.
	Debian bool
	// User and Password, when set, turn on htpasswd authentication.
	User, Password string
	// Token, when set, turns on token authentication (distribution v3).
	Token *TokenAuth
	// TLS, when set, serves HTTPS.
	TLS *RegistryTLS
	// RedirectURL, when set, makes blob downloads redirect to this base URL
	// plus the blob's path under the storage root (the storage redirect
	// middleware), as registries redirect to a storage service or CDN.
	RedirectURL string
	// StorageDir is the storage root; empty means a directory of the test.
	// Set it to serve the blobs elsewhere before the registry starts.
	StorageDir string
}

// RegistryTLS is a registry's serving certificate and, for mutual TLS, the
// CAs its clients' certificates must chain to.
type RegistryTLS struct {
	CertFile, KeyFile string
	// ClientCAFiles, when set, make the registry require a client
	// certificate signed by one of them.
	ClientCAFiles []string
}

// StartRegistryWith starts the registry variant o describes on a free
// loopback port. It stops when the test ends.
func StartRegistryWith(t testing.TB, o RegistryOptions) *Registry {
	t.Helper()
	dir := t.TempDir()
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Host: "127.0.0.1:" + strconv.Itoa(ports[0]), Dir: dir}
	r.start(t, o)
	return r
}

// Restart stops r and starts the variant o describes in its place: same
// address, same directory (and so the same storage, unless o names
// another), a new config. It models a registry whose credentials change
// under its clients (a new htpasswd password).
func (r *Registry) Restart(t testing.TB, o RegistryOptions) {
	t.Helper()
	r.proc.kill()
	r.start(t, o)
}

// start writes r's config for o and starts the registry process, stopped
// when the test ends.
func (r *Registry) start(t testing.TB, o RegistryOptions) {
	t.Helper()
	var bin string
	var env []string
	if o.Debian {
		bin = SystemTool(t, "docker-registry", "docker-registry")
	} else {
		// Tracing is on by default in v3; there is no collector here.
		bin, env = Tool(t, "registry"), []string{"OTEL_TRACES_EXPORTER=none"}
	}
	cfg := filepath.Join(r.Dir, "config.yml")
	writeTestFile(t, cfg, registryConfig(t, r, o))
	p, err := startProcessEnv("registry", bin, filepath.Join(r.Dir, "registry.log"), env, "serve", cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.proc = p
	t.Cleanup(p.kill)
	if err := waitListening(p, r.Host, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// LogLines returns the registry's whole log so far, access log lines
// included ("GET /v2/… HTTP/1.1" 200 …); a line is written when its request
// completes.
func (r *Registry) LogLines(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(r.proc.log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// registryConfig writes o's files into r.Dir and returns the config.
func registryConfig(t testing.TB, r *Registry, o RegistryOptions) string {
	t.Helper()
	storage := o.StorageDir
	if storage == "" {
		storage = filepath.Join(r.Dir, "data")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: %s
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: flux-mirror-test-not-secret
`, storage, r.Host)
	scheme := "http"
	if o.TLS != nil {
		scheme = "https"
		fmt.Fprintf(&b, "  tls:\n    certificate: %s\n    key: %s\n", o.TLS.CertFile, o.TLS.KeyFile)
		if len(o.TLS.ClientCAFiles) > 0 {
			b.WriteString("    clientcas:\n")
			for _, f := range o.TLS.ClientCAFiles {
				fmt.Fprintf(&b, "      - %s\n", f)
			}
		}
	}
	switch {
	case o.User != "":
		htpasswd := WriteHtpasswd(t, r.Dir, o.User, o.Password)
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: flux-mirror-test\n    path: %s\n", htpasswd)
	case o.Token != nil:
		realm := o.Token.Realm
		if realm == "" {
			realm = scheme + "://" + r.Host + "/token"
		}
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %s\n    service: %q\n    issuer: %q\n    jwks: %s\n",
			realm, o.Token.Service, o.Token.Issuer, o.Token.JWKS)
	}
	if o.RedirectURL != "" {
		fmt.Fprintf(&b, "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: %s\n", o.RedirectURL)
	}
	return b.String()
}
