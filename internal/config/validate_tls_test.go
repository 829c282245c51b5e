package config

import (
	"encoding/pem"
	"strconv"
	"testing"
)

// tlsDoc is a config with one host whose tls is the given flow mapping body.
func tlsDoc(tls string) string {
	return hostsDoc("{host: registry.example.com, tls: {" + tls + "}}")
}

// pemValue is a YAML double-quoted scalar holding one PEM block.
func pemValue(blockType string) string {
	return strconv.Quote(string(pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: []byte("not DER")})))
}

func TestValidateTLS(t *testing.T) {
	cert, key := pemValue("CERTIFICATE"), pemValue("EC PRIVATE KEY")
	runValidation(t, []validationCase{
		{"empty tls", tlsDoc(""), "hosts[0].tls: set at least one of serverAuth, clientAuth"},
		{"serverAuth fromPath", tlsDoc("serverAuth: {fromPath: ca.pem}"), ""},
		{"serverAuth fromPath with NUL", tlsDoc(`serverAuth: {fromPath: "ca\0"}`), "hosts[0].tls.serverAuth.fromPath: must not contain a NUL byte"},
		{"serverAuth value", tlsDoc("serverAuth: {value: " + cert + "}"), ""},
		{"serverAuth bundle of two", tlsDoc("serverAuth: {value: " + cert[:len(cert)-1] + `\n` + cert[1:] + "}"), ""},
		{"serverAuth value not PEM", tlsDoc("serverAuth: {value: abc}"), "hosts[0].tls.serverAuth.value: no PEM data, expected a CA bundle"},
		{"serverAuth value holds a key", tlsDoc("serverAuth: {value: " + key + "}"),
			`hosts[0].tls.serverAuth.value: holds a PEM block of type "EC PRIVATE KEY", expected a CA bundle`},
		{"serverAuth empty", tlsDoc("serverAuth: {}"), "hosts[0].tls.serverAuth: exactly one of fromPath, value, spiffe must be set"},
		{"serverAuth two", tlsDoc("serverAuth: {fromPath: ca.pem, spiffe: {authorizeAny: true}}"),
			"hosts[0].tls.serverAuth: exactly one of fromPath, value, spiffe must be set, got fromPath and spiffe"},
	})
}

func TestValidateSPIFFEServer(t *testing.T) {
	spiffe := func(body string) string { return tlsDoc("serverAuth: {spiffe: {" + body + "}}") }
	runValidation(t, []validationCase{
		{"serverID", spiffe("serverID: spiffe://example.org/ns/registry/sa/default"), ""},
		{"serverID without path", spiffe("serverID: spiffe://example.org"), ""},
		{"serverID not spiffe", spiffe("serverID: https://example.org/x"), "hosts[0].tls.serverAuth.spiffe.serverID: must be a SPIFFE ID (spiffe://trust-domain/path)"},
		{"serverID trailing slash", spiffe("serverID: spiffe://example.org/a/"), "serverID: empty path segment"},
		{"serverID dot segment", spiffe("serverID: spiffe://example.org/a/../b"), `serverID: the SPIFFE ID path must not contain "." or ".." segments`},
		{"serverID bad character", spiffe("serverID: 'spiffe://example.org/a?b'"), `serverID: invalid character '?' in the SPIFFE ID path`},
		{"serverID uppercase trust domain", spiffe("serverID: spiffe://Example.org/a"), "serverID: invalid character 'E' in the trust domain"},
		{"trustDomain", spiffe("trustDomain: example.org"), ""},
		{"trustDomain self", spiffe("trustDomain: self"), ""},
		{"trustDomain with scheme", spiffe("trustDomain: spiffe://example.org"),
			`hosts[0].tls.serverAuth.spiffe.trustDomain: write the trust domain name without spiffe://, "example.org"`},
		{"trustDomain bad character", spiffe("trustDomain: example.org/x"), `trustDomain: invalid character '/' in the trust domain`},
		{"authorizeAny", spiffe("authorizeAny: true"), ""},
		{"authorizeAny false is unset", spiffe("authorizeAny: false"),
			"hosts[0].tls.serverAuth.spiffe: exactly one of serverID, trustDomain, authorizeAny must be set"},
		{"two of them", spiffe("trustDomain: self, authorizeAny: true"), "got trustDomain and authorizeAny"},
	})
}

func TestValidateClientAuth(t *testing.T) {
	cert, key := pemValue("CERTIFICATE"), pemValue("PRIVATE KEY")
	client := func(body string) string { return tlsDoc("clientAuth: {" + body + "}") }
	runValidation(t, []validationCase{
		{"x509-svid", client("provider: x509-svid"), ""},
		{"unknown provider", client("provider: acme"), `hosts[0].tls.clientAuth.provider: unknown provider "acme", expected x509-svid`},
		{"provider and certificate", client("provider: x509-svid, certificate: {fromPath: c}, key: {fromPath: k}"),
			"hosts[0].tls.clientAuth: set either provider or certificate and key, not both"},
		{"nothing", client(""), "hosts[0].tls.clientAuth: set either provider: x509-svid, or certificate and key"},
		{"files", client("certificate: {fromPath: tls.crt}, key: {fromPath: tls.key}"), ""},
		{"inline", client("certificate: {value: " + cert + "}, key: {value: " + key + "}"), ""},
		{"certificate without key", client("certificate: {fromPath: c}"), "hosts[0].tls.clientAuth.key: required with certificate"},
		{"key without certificate", client("key: {fromPath: k}"), "hosts[0].tls.clientAuth.certificate: required with key"},
		{"certificate with both sources", client("certificate: {fromPath: c, value: " + cert + "}, key: {fromPath: k}"),
			"hosts[0].tls.clientAuth.certificate: exactly one of fromPath, value must be set, got fromPath and value"},
		{"key with no source", client("certificate: {fromPath: c}, key: {}"), "hosts[0].tls.clientAuth.key: exactly one of fromPath, value must be set"},
		{"key path with NUL", client(`certificate: {fromPath: c}, key: {fromPath: "k\0"}`), "hosts[0].tls.clientAuth.key.fromPath: must not contain a NUL byte"},
		{"certificate not PEM", client("certificate: {value: abc}, key: {fromPath: k}"), "hosts[0].tls.clientAuth.certificate.value: no PEM data, expected a certificate"},
		{"key is a certificate", client("certificate: {fromPath: c}, key: {value: " + cert + "}"),
			`hosts[0].tls.clientAuth.key.value: holds a PEM block of type "CERTIFICATE", expected a private key`},
	})
}
