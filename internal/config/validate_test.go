package config

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
)

// validateDoc decodes a document, which must decode, and validates it.
func validateDoc(t *testing.T, doc string) error {
	t.Helper()
	cfg, err := Decode([]byte(doc))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return Validate(cfg)
}

// hostsDoc is a config whose hosts are the given flow mappings.
func hostsDoc(hosts ...string) string {
	var b strings.Builder
	b.WriteString(header + "hosts:\n")
	for _, h := range hosts {
		b.WriteString("- " + h + "\n")
	}
	return b.String()
}

// validationCase is a config snippet and the error it must give ("" for
// none).
type validationCase struct {
	name string
	doc  string
	want string
}

func runValidation(t *testing.T, tests []validationCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, validateDoc(t, tt.doc), tt.want)
		})
	}
}

func TestValidateTopLevel(t *testing.T) {
	runValidation(t, []validationCase{
		{"hosts only", hostsDoc("{host: gcr.io, provider: gar}"), ""},
		{"no hosts at all", header, ""},
		{"missing apiVersion", "kind: Config\n", "apiVersion: required, set it to mirror.plugin.fluxcd.io/v1beta1"},
		{"missing kind", "apiVersion: mirror.plugin.fluxcd.io/v1beta1\n", "kind: required, set it to Config"},
	})
	wantError(t, Validate(nil), "no config")
	wantError(t, Validate(&v1beta1.Config{APIVersion: "v1", Kind: v1beta1.Kind}), `apiVersion: must be mirror.plugin.fluxcd.io/v1beta1, got "v1"`)
	wantError(t, Validate(&v1beta1.Config{APIVersion: v1beta1.GroupVersion, Kind: "Secret"}), `kind: must be Config, got "Secret"`)
}

func TestValidateHosts(t *testing.T) {
	runValidation(t, []validationCase{
		{"host required", hostsDoc("{provider: ecr}"), "hosts[0].host: required"},
		{"host syntax", hostsDoc("{host: 'https://ghcr.io', provider: gar}"), `hosts[0].host: remove the scheme "https://", write "ghcr.io"`},
		{"unique hosts", hostsDoc("{host: a.io, provider: gar}", "{host: b.io, provider: gar}", "{host: a.io, provider: acr}"),
			`hosts[2].host: "a.io" is the same registry as hosts[0] ("a.io")`},
		{"docker hub aliases are one host", hostsDoc("{host: docker.io, maxChunkSize: 1}", "{host: index.docker.io, maxChunkSize: 1}"),
			`hosts[1].host: "index.docker.io" is the same registry as hosts[0] ("docker.io")`},
		{"ports make hosts distinct", hostsDoc("{host: localhost, maxChunkSize: 1}", "{host: 'localhost:5000', maxChunkSize: 1}"), ""},
		{"provider ecr", hostsDoc("{host: 123456789012.dkr.ecr.us-east-1.amazonaws.com, provider: ecr}"), ""},
		{"provider ecr public", hostsDoc("{host: public.ecr.aws, provider: ecr}"), ""},
		{"provider ecr, other host", hostsDoc("{host: ghcr.io, provider: ecr}"), `hosts[0].host: provider ecr does not serve "ghcr.io": want <account>.dkr.ecr.<region>.amazonaws.com`},
		{"provider acr, other host", hostsDoc("{host: r.azurecr.com, provider: acr}"), `hosts[0].host: provider acr does not serve "r.azurecr.com"`},
		{"provider gar, other host", hostsDoc("{host: ghcr.io, provider: gar}"), `hosts[0].host: provider gar does not serve "ghcr.io": want <location>-docker.pkg.dev`},
		{"provider acr", hostsDoc("{host: r.azurecr.io, provider: acr}"), ""},
		{"provider gar", hostsDoc("{host: us-docker.pkg.dev, provider: gar}"), ""},
		{"unknown provider", hostsDoc("{host: a.io, provider: gcr}"), `hosts[0].provider: unknown provider "gcr", expected one of ecr, acr, gar`},
		{"provider excludes credential", hostsDoc("{host: a.io, provider: ecr, credential: {value: x}}"), "hosts[0].credential: not allowed with provider"},
		{"provider excludes username", hostsDoc("{host: a.io, provider: ecr, username: AWS}"), "hosts[0].username: not allowed with provider"},
		{"provider excludes tls", hostsDoc("{host: a.io, provider: ecr, tls: {clientAuth: {provider: x509-svid}}}"), "hosts[0].tls: not allowed with provider"},
		{"username with credential", hostsDoc("{host: a.io, username: u, credential: {value: x}}"), ""},
		{"username without credential", hostsDoc("{host: a.io, username: u, maxChunkSize: 1}"), "hosts[0].username: only allowed with credential"},
		{"nothing to do", hostsDoc("{host: a.io}"), "hosts[0]: set at least one of credential, provider, tls, maxChunkSize"},
		{"nothing but username", hostsDoc("{host: a.io, username: u}"), "hosts[0]: set at least one of"},
		{"tls only", hostsDoc("{host: a.io, tls: {serverAuth: {fromPath: ca.pem}}}"), ""},
		{"maxChunkSize only", hostsDoc("{host: a.io, maxChunkSize: 0}"), ""},
		{"negative maxChunkSize", hostsDoc("{host: a.io, maxChunkSize: -1}"), "hosts[0].maxChunkSize: must not be negative"},
	})
}

func TestValidateCollectsAllInOrder(t *testing.T) {
	doc := "kind: Konfig\n" + "hosts:\n- {host: A.io, provider: x}\n- {host: b.io}\n" +
		"charts:\n- {name: c}\n"
	cfg, err := Decode([]byte(doc))
	if err == nil {
		t.Fatalf("decode accepted a wrong kind: %+v", cfg)
	}
	cfg, err = Decode([]byte(strings.Replace(doc, "Konfig", "Config", 1)))
	if err != nil {
		t.Fatal(err)
	}
	err = Validate(cfg)
	want := strings.Join([]string{
		"apiVersion: required, set it to mirror.plugin.fluxcd.io/v1beta1",
		`hosts[0].host: must be lowercase, write "a.io"`,
		`hosts[0].provider: unknown provider "x", expected one of ecr, acr, gar`,
		"hosts[1]: set at least one of credential, provider, tls, maxChunkSize",
		"charts[0].source: required",
		"charts[0].destination: required",
	}, "; ")
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestValidateHost(t *testing.T) {
	tests := []struct {
		host string
		want string
	}{
		{"registry.example.com", ""},
		{"localhost", ""},
		{"localhost:5000", ""},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", ""},
		{"127.0.0.1", ""},
		{"127.0.0.1:65535", ""},
		{"[::1]", ""},
		{"[2001:db8::1]:443", ""},
		{"xn--bcher-kva.example", ""},
		{"", "must not be empty"},
		{"ghcr.io ", "must not contain whitespace"},
		{"ghcr .io", "must not contain whitespace"},
		{"https://ghcr.io/v2/", `remove the scheme "https://", write "ghcr.io"`},
		{"oci://ghcr.io", `remove the scheme "oci://", write "ghcr.io"`},
		{"ghcr.io/fluxcd", `must be a host without a path, write "ghcr.io"`},
		{"GHCR.io", `must be lowercase, write "ghcr.io"`},
		{"HTTPS://GHCR.io", `remove the scheme "HTTPS://", write "ghcr.io"`},
		{"ghcr.io:0", `port "0" must be a number from 1 to 65535`},
		{"ghcr.io:65536", "must be a number from 1 to 65535"},
		{"ghcr.io:05000", "must be a number from 1 to 65535"},
		{"ghcr.io:http", "must be a number from 1 to 65535"},
		{"ghcr.io:", "empty port after the colon"},
		{"::1", `put an IPv6 address in brackets, write "[::1]"`},
		{"[::1", "missing ] after the IPv6 address"},
		{"[::1]5000", "only a :port may follow the IPv6 address"},
		{"[127.0.0.1]", `"[127.0.0.1]" is not an IPv6 address`},
		{"[fe80::1%eth0]", "is not an IPv6 address"},
		{"256.1.1.1", `"256.1.1.1" is not an IPv4 address`},
		{"1.2.3", "is not an IPv4 address"},
		{"ghcr..io", "empty DNS label"},
		{"ghcr.io.", "empty DNS label"},
		{"-ghcr.io", `DNS label "-ghcr" must not start or end with a hyphen`},
		{"my_registry.io", `invalid character '_'`},
		{"user@ghcr.io", `invalid character '@'`},
		{strings.Repeat("a", 64) + ".io", "longer than 63 characters"},
		{strings.Repeat("abcdefg.", 32) + "io", "longer than 253 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			wantError(t, ValidateHost(tt.host), tt.want)
		})
	}
}
