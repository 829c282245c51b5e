// Package fakecloud holds loopback fakes of cloud identity endpoints for
// tests: each speaks the real wire protocol to the real cloud SDKs, checks
// what a real endpoint would check, and records what it issued so tests can
// assert the right token reached the right place. Test support only: import
// it from _test.go files.
package fakecloud

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// HostNet lets the HTTPS fakes of a test answer under the real names of the
// cloud endpoints they stand for (myregistry.azurecr.io,
// iamcredentials.googleapis.com). It holds a throwaway certificate
// authority that signs each fake's certificate for those names, and the
// client from Client dials each name's fake listener instead of resolving
// it, and trusts that authority only. Nothing else on the machine trusts
// it.
type HostNet struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool

	mu    sync.Mutex
	addrs map[string]string // host:port the client asks for -> listener address
}

// NewHostNet returns a HostNet with a fresh certificate authority.
func NewHostNet(t testing.TB) *HostNet {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "flux-mirror fakecloud test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &HostNet{ca: ca, caKey: key, pool: pool, addrs: map[string]string{}}
}

// Serve starts an HTTPS server for h whose certificate is valid for
// 127.0.0.1 and names, and routes names (on port 443) to it. It is closed
// when the test ends.
func (n *HostNet) Serve(t testing.TB, h http.Handler, names ...string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{n.leaf(t, names)}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	n.mu.Lock()
	for _, name := range names {
		n.addrs[net.JoinHostPort(name, "443")] = addr
	}
	n.mu.Unlock()
	return srv
}

// leaf issues a server certificate for 127.0.0.1 and names.
func (n *HostNet) leaf(t testing.TB, names []string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "fakecloud"},
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, n.ca, &key.PublicKey, n.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Client returns an HTTP client that reaches the names given to Serve at
// their fakes and other loopback addresses directly (the plain HTTP fakes),
// refuses every other address, so that no test leaves the machine (a cloud
// VM's own metadata endpoint included), trusts only the test CA, and
// ignores proxy variables.
func (n *HostNet) Client() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			n.mu.Lock()
			mapped, ok := n.addrs[addr]
			n.mu.Unlock()
			if ok {
				addr = mapped
			}
			host, _, err := net.SplitHostPort(addr)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("fakecloud: refusing to dial %s: tests reach loopback fakes only", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: n.pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 5 * time.Second,
	}}
}

// fakeJWT returns a JWT-shaped token with the given claims and a random,
// meaningless signature: the fakes' tokens are checked by the fakes
// themselves, by value, and only their claims are read by the code under
// test.
func fakeJWT(claims map[string]any) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	sig := make([]byte, 32)
	if _, err := rand.Read(sig); err != nil {
		panic(err)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "fakecloud"}) + "." + enc(claims) + "." +
		base64.RawURLEncoding.EncodeToString(sig)
}

// randomToken returns a random opaque token with a recognisable prefix.
func randomToken(prefix string) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// tokenSet records the tokens a fake issued, so that another fake (or the
// test) can tell whether a presented token is one of them.
type tokenSet struct {
	mu     sync.Mutex
	issued map[string]string // token -> what it was issued for
	order  []string
}

func (s *tokenSet) add(token, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issued == nil {
		s.issued = map[string]string{}
	}
	s.issued[token] = what
	s.order = append(s.order, token)
}

func (s *tokenSet) lookup(token string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	what, ok := s.issued[token]
	return what, ok
}

func (s *tokenSet) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return h[7:]
	}
	return ""
}

// writeJSON writes v as a JSON response with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
