package config

import (
	"strings"
	"testing"
)

const headerV2 = "apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\n"

// v2Host is a v1beta2 config of one host written in block style, so that
// each field is on its own line: line 3 is "- host: ...", line 4 the next
// field, and so on.
func v2Host(lines ...string) string {
	return headerV2 + "hosts:\n- host: registry.example.com\n  " + strings.Join(lines, "\n  ") + "\n"
}

// TestV1beta2Rules holds one case per v1beta2 rule; each error names the
// field path of the version written and its line.
func TestV1beta2Rules(t *testing.T) {
	t.Parallel()
	cred := func(lines ...string) string {
		return v2Host(append([]string{"credential:"}, indent(lines)...)...)
	}
	for _, tt := range []struct{ name, doc, want string }{
		{"valid value", cred("type: jwt", "value: t"), ""},
		{"valid username pair", cred("type: jwt", "username: u", "value: t"), ""},
		{"type required", cred("value: t"), "line 5: hosts[0].credential.type: required, set it to jwt"},
		{"type unknown", cred("type: oidc", "value: t"), `line 6: hosts[0].credential.type: unknown type "oidc", expected jwt`},
		{"one source", cred("type: jwt", "value: t", "fromPath: f"), "line 5: hosts[0].credential: exactly one of value, fromPath, jwkPath, jwkValue, provider must be set, got value and fromPath"},
		{"v1beta1 username on the host", v2Host("username: u", "credential:", "  type: jwt", "  value: t"), "line 5: hosts[0].username: unknown field (a v1beta1 field: in v1beta2 it is credential.username)"},
		{"v1beta1 aud", cred("type: jwt", "provider: github", "aud: x"), "line 8: hosts[0].credential.aud: unknown field (a v1beta1 field: write audiences, a list)"},
		{"audiences with a provider", cred("type: jwt", "provider: aws", "audiences: [a, b]"), ""},
		{"audiences empty list", cred("type: jwt", "provider: aws", "audiences: []"), "line 8: hosts[0].credential.audiences: must not be empty: leave it out for the default (the host)"},
		{"audiences empty item", cred("type: jwt", "provider: aws", "audiences: [a, '']"), "line 8: hosts[0].credential.audiences[1]: must not be empty"},
		{"audiences gcp one", cred("type: jwt", "provider: gcp", "audiences: [a, b]"), "line 8: hosts[0].credential.audiences: provider gcp takes one audience, got 2"},
		{"audiences azure one", cred("type: jwt", "provider: azure", "audiences: [a, b]"), "line 8: hosts[0].credential.audiences: provider azure takes one audience, got 2"},
		{"audiences with value", cred("type: jwt", "value: t", "audiences: [a]"), "line 8: hosts[0].credential.audiences: only allowed with jwkPath, jwkValue or provider, not with value"},
		{"issuer and subject required", cred("type: jwt", "jwkPath: k.json"), "hosts[0].credential.issuer: required with jwkPath; line 5: hosts[0].credential.subject: required with jwkPath"},
		{"issuer only with jwk", cred("type: jwt", "fromPath: t", "issuer: i"), "line 8: hosts[0].credential.issuer: only allowed with jwkPath or jwkValue, not with fromPath"},
		{"expiration", cred("type: jwt", "jwkPath: k.json", "issuer: i", "subject: s", "expiration: 5m"), ""},
		{"expiration zero", cred("type: jwt", "jwkPath: k.json", "issuer: i", "subject: s", "expiration: 0s"), "line 10: hosts[0].credential.expiration: must be greater than zero"},
		{"expiration short", cred("type: jwt", "jwkPath: k.json", "issuer: i", "subject: s", "expiration: 5s"), "line 10: hosts[0].credential.expiration: is shorter than 10s"},
		{"expiration only with jwk", cred("type: jwt", "provider: github", "expiration: 5m"), "line 8: hosts[0].credential.expiration: only allowed with jwkPath or jwkValue, not with provider"},
		{"jwt-svid renamed", cred("type: jwt", "provider: jwt-svid"), `line 7: hosts[0].credential.provider: unknown provider "jwt-svid", expected one of github, forgejo, gcp, azure, aws, spiffe (jwt-svid is the v1beta1 name: write spiffe)`},
		{"spiffe provider", cred("type: jwt", "provider: spiffe", "audiences: [a, b, c]"), ""},
		{"envelope base64", cred("type: jwt", "value: t", "envelope: '{{.Token | base64}}'"), ""},
		{"envelope hex framed", cred("type: jwt", "value: t", "envelope: 'Basic {{hex .Token}}'"), ""},
		{"envelope does not parse", cred("type: jwt", "value: t", "envelope: '{{.Token'"), "line 8: hosts[0].credential.envelope: not a valid template"},
		{"envelope unknown field", cred("type: jwt", "value: t", "envelope: '{{.Secret}}'"), "line 8: hosts[0].credential.envelope: the template fails"},
		{"envelope unknown function", cred("type: jwt", "value: t", "envelope: '{{sha1 .Token}}'"), `line 8: hosts[0].credential.envelope: not a valid template: 1: function "sha1" not defined`},
		{"envelope empty output", cred("type: jwt", "value: t", "envelope: '{{if false}}x{{end}}'"), "line 8: hosts[0].credential.envelope: the envelope template made an empty token"},
		{"generic with credential", v2Host("provider: generic", "credential:", "  type: jwt", "  value: t"), ""},
		{"generic alone", v2Host("provider: generic"), "line 4: hosts[0]: set at least one of credential, a cloud provider (ecr, acr, gar), tls, maxChunkSize"},
		{"generic with tls", v2Host("provider: generic", "tls:", "  serverAuth:", "    fromPath: ca.pem"), ""},
		{"ecr excludes credential", headerV2 + "hosts:\n- host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n  provider: ecr\n  credential:\n    type: jwt\n    value: t\n", "line 6: hosts[0].credential: not allowed with provider ecr"},
		{"provider unknown", v2Host("provider: quay"), `line 5: hosts[0].provider: unknown provider "quay", expected one of generic, ecr, acr, gar`},
		{"serverAuth spiffe", v2Host("tls:", "  serverAuth:", "    provider: spiffe", "    spiffe:", "      trustDomain: self"), ""},
		{"serverAuth spiffe without provider", v2Host("tls:", "  serverAuth:", "    spiffe:", "      trustDomain: self"), "line 6: hosts[0].tls.serverAuth.provider: required with spiffe: set it to spiffe"},
		{"serverAuth provider without spiffe", v2Host("tls:", "  serverAuth:", "    provider: spiffe"), "line 6: hosts[0].tls.serverAuth.spiffe: required with provider spiffe"},
		{"serverAuth provider with fromPath", v2Host("tls:", "  serverAuth:", "    provider: spiffe", "    fromPath: ca.pem", "    spiffe:", "      trustDomain: self"), "line 8: hosts[0].tls.serverAuth.fromPath: not allowed with provider spiffe"},
		{"authorizeAny removed", v2Host("tls:", "  serverAuth:", "    provider: spiffe", "    spiffe:", "      authorizeAny: true"), "line 9: hosts[0].tls.serverAuth.spiffe.authorizeAny: unknown field (removed in v1beta2: name the trustDomain, or a serverID ending in / for a path prefix)"},
		{"serverID prefix", v2Host("tls:", "  serverAuth:", "    provider: spiffe", "    spiffe:", "      serverID: spiffe://example.org/registry/"), ""},
		{"serverID domain prefix", v2Host("tls:", "  serverAuth:", "    provider: spiffe", "    spiffe:", "      serverID: spiffe://example.org/"), ""},
		{"serverID bad", v2Host("tls:", "  serverAuth:", "    provider: spiffe", "    spiffe:", "      serverID: https://example.org/x"), "line 9: hosts[0].tls.serverAuth.spiffe.serverID:"},
		{"clientAuth spiffe", v2Host("tls:", "  clientAuth:", "    provider: spiffe"), ""},
		{"clientAuth x509-svid renamed", v2Host("tls:", "  clientAuth:", "    provider: x509-svid"), `line 7: hosts[0].tls.clientAuth.provider: unknown provider "x509-svid", expected spiffe (x509-svid is the v1beta1 name)`},
		{"missing apiVersion", "kind: Config\nhosts:\n- host: a.io\n  maxChunkSize: 1\n", "apiVersion: required, set it to mirror.plugin.fluxcd.io/v1beta2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			wantError(t, err, tt.want)
		})
	}
}

// indent nests credential lines under "credential:".
func indent(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = "  " + l
	}
	return out
}
