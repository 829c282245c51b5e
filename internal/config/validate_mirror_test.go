package config

import (
	"testing"
)

// artifactDoc is a config with one artifact: a valid one with the given
// flow mapping fields added or replaced.
func artifactDoc(fields string) string {
	base := "source: ghcr.io/fluxcd/flux, destination: registry.example.com/flux, selector: {semver: '>=1.0.0'}"
	if fields != "" {
		base = fields
	}
	return header + "artifacts:\n- {" + base + "}\n"
}

// selectorDoc is a config with one artifact whose selector is the given
// flow mapping body.
func selectorDoc(selector string) string {
	return artifactDoc("source: a.io/x, destination: b.io/x, selector: {" + selector + "}")
}

// verifyDoc is a config with one artifact whose verify is the given flow
// mapping body.
func verifyDoc(verify string) string {
	return artifactDoc("source: a.io/x, destination: b.io/x, selector: {}, verify: {" + verify + "}")
}

func TestValidateArtifacts(t *testing.T) {
	runValidation(t, []validationCase{
		{"minimal", artifactDoc(""), ""},
		{"source required", artifactDoc("destination: b.io/x, selector: {}"), "artifacts[0].source: required"},
		{"destination required", artifactDoc("source: a.io/x, selector: {}"), "artifacts[0].destination: required"},
		{"selector required", artifactDoc("source: a.io/x, destination: b.io/x"), "artifacts[0].selector: required"},
		{"docker hub short name", artifactDoc("source: library/nginx, destination: localhost:5000/nginx, selector: {}"), ""},
		{"https scheme", artifactDoc("source: 'https://ghcr.io/x', destination: b.io/x, selector: {}"),
			`artifacts[0].source: remove the scheme "https://", write "ghcr.io/x"`},
		{"oci scheme", artifactDoc("source: a.io/x, destination: 'oci://b.io/x', selector: {}"),
			`artifacts[0].destination: remove the scheme "oci://", write "b.io/x"`},
		{"tag", artifactDoc("source: 'a.io/x:v1', destination: b.io/x, selector: {}"), `artifacts[0].source: must be a repository without a tag, drop ":v1"`},
		{"digest", artifactDoc("source: 'a.io/x@sha256:abc', destination: b.io/x, selector: {}"), `artifacts[0].source: must be a repository without a digest, write "a.io/x"`},
		{"uppercase path", artifactDoc("source: a.io/Flux, destination: b.io/x, selector: {}"), `artifacts[0].source: invalid repository path component "Flux"`},
		{"bad registry", artifactDoc("source: 'a.io:99999/x', destination: b.io/x, selector: {}"), `artifacts[0].source: registry host "a.io:99999": port`},
		{"whitespace", artifactDoc("source: 'a.io/x ', destination: b.io/x, selector: {}"), "artifacts[0].source: must not contain whitespace"},
		{"registry without repository", artifactDoc("source: a.io/, destination: b.io/x, selector: {}"), `artifacts[0].source: invalid repository path component ""`},
	})
}

func TestValidateSelector(t *testing.T) {
	runValidation(t, []validationCase{
		{"empty selector", selectorDoc(""), ""},
		{"regex", selectorDoc(`regex: {pattern: '^v(\d+)$', extract: '$1'}`), ""},
		{"regex pattern required", selectorDoc("regex: {extract: '$1'}"), "artifacts[0].selector.regex.pattern: required"},
		{"regex pattern invalid", selectorDoc("regex: {pattern: 'v(1'}"), "artifacts[0].selector.regex.pattern: not a valid regular expression: missing closing )"},
		{"semver", selectorDoc("semver: '~1.2'"), ""},
		{"semver invalid", selectorDoc("semver: 'one point two'"), "artifacts[0].selector.semver: not a valid semver range"},
		{"sortBy semver", selectorDoc("sortBy: semver"), ""},
		{"sortBy alphabetical", selectorDoc("sortBy: alphabetical"), ""},
		{"sortBy numerical", selectorDoc("sortBy: numerical"), ""},
		{"sortBy unknown", selectorDoc("sortBy: date"), `artifacts[0].selector.sortBy: unknown order "date", expected one of semver, alphabetical, numerical`},
		{"limit zero keeps all", selectorDoc("limit: 0"), ""},
		{"limit negative", selectorDoc("limit: -1"), "artifacts[0].selector.limit: must not be negative"},
	})
}

func TestValidateVerify(t *testing.T) {
	const id = "matchOIDCIdentity: [{issuer: 'https://token.actions.githubusercontent.com', subject: '^https://github.com/fluxcd/'}]"
	runValidation(t, []validationCase{
		{"keyless", verifyDoc("provider: cosign, " + id), ""},
		{"provider required", verifyDoc("minAge: 1h, " + id), "artifacts[0].verify.provider: required, set it to cosign"},
		{"provider unknown", verifyDoc("provider: notation, " + id), `artifacts[0].verify.provider: unknown provider "notation", expected cosign`},
		{"identity required", verifyDoc("provider: cosign"),
			"artifacts[0].verify.matchOIDCIdentity: at least one identity is required to verify keyless signatures (or set publicKey"},
		{"identity list empty", verifyDoc("provider: cosign, matchOIDCIdentity: []"),
			"artifacts[0].verify.matchOIDCIdentity: at least one identity is required"},
		{"issuer required", verifyDoc("provider: cosign, matchOIDCIdentity: [{subject: s}]"),
			"artifacts[0].verify.matchOIDCIdentity[0].issuer: required (the OIDC issuer URL"},
		{"issuer written as a regex", verifyDoc(`provider: cosign, matchOIDCIdentity: [{issuer: '^https://token\.actions\.githubusercontent\.com$', subject: s}]`),
			"artifacts[0].verify.matchOIDCIdentity[0].issuer: is matched exactly, not as a regular expression"},
		{"issuer with a wildcard", verifyDoc("provider: cosign, matchOIDCIdentity: [{issuer: 'https://issuer.example.*', subject: s}]"),
			"artifacts[0].verify.matchOIDCIdentity[0].issuer: is matched exactly, not as a regular expression"},
		{"issuer not a URL", verifyDoc("provider: cosign, matchOIDCIdentity: [{issuer: accounts.google.com, subject: s}]"),
			"artifacts[0].verify.matchOIDCIdentity[0].issuer: must be the OIDC issuer URL, matched exactly"},
		{"issuer with a path", verifyDoc("provider: cosign, matchOIDCIdentity: [{issuer: 'https://gitlab.example.com/oidc', subject: s}]"), ""},
		{"subject invalid", verifyDoc("provider: cosign, matchOIDCIdentity: [{issuer: 'https://i.example', subject: s}, {issuer: 'https://i.example', subject: '*'}]"),
			"artifacts[0].verify.matchOIDCIdentity[1].subject: not a valid regular expression"},
		{"subject required", verifyDoc("provider: cosign, matchOIDCIdentity: [{issuer: 'https://i.example'}]"),
			"artifacts[0].verify.matchOIDCIdentity[0].subject: required"},
		{"minAge", verifyDoc("provider: cosign, minAge: 72h, " + id), ""},
		{"minAge zero", verifyDoc("provider: cosign, minAge: 0s, " + id), ""},
		{"minAge negative", verifyDoc("provider: cosign, minAge: -1h, " + id), "artifacts[0].verify.minAge: must not be negative"},
		{"minAge not a duration", verifyDoc("provider: cosign, minAge: 3d, " + id), "artifacts[0].verify.minAge: not a duration"},
	})
}

// TestValidateVerifyV1beta2 covers the fields only v1beta2 has.
func TestValidateVerifyV1beta2(t *testing.T) {
	doc := func(verify string) string {
		return headerV2 + "artifacts:\n- {source: a.io/x, destination: b.io/x, selector: {}, verify: {provider: cosign, " + verify + "}}\n"
	}
	const id = "matchOIDCIdentity: [{issuer: 'https://i.example', subject: s}]"
	for _, tt := range []validationCase{
		{"trustedRoot", doc("trustedRoot: sigstore/trusted_root.json, " + id), ""},
		{"trustedRoot NUL", doc(`trustedRoot: "a\0b", ` + id), "line 4: artifacts[0].verify.trustedRoot: must not contain a NUL byte"},
		{"publicKey alone", doc("publicKey: cosign.pub"), ""},
		{"publicKey with identities", doc("publicKey: cosign.pub, " + id), ""},
		{"publicKey NUL", doc(`publicKey: "a\0b"`), "line 4: artifacts[0].verify.publicKey: must not contain a NUL byte"},
		{"identity required", doc("minAge: 1h"), "line 4: artifacts[0].verify.matchOIDCIdentity: at least one identity is required"},
		{"v1beta1 has no trustedRoot", verifyDoc("provider: cosign, trustedRoot: r.json, " + id), "artifacts[0].verify.trustedRoot: unknown field"},
		{"v1beta1 has no publicKey", verifyDoc("provider: cosign, publicKey: k.pub"), "artifacts[0].verify.publicKey: unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			wantError(t, err, tt.want)
		})
	}
}

// chartDoc is a config with one chart: a valid one with the given flow
// mapping fields added.
func chartDoc(fields string) string {
	base := "name: podinfo, source: 'https://charts.example.com', destination: 'oci://registry.example.com/charts'"
	if fields != "" {
		base += ", " + fields
	}
	return header + "charts:\n- {" + base + "}\n"
}

// chartOnly is a config with one chart of exactly the given fields.
func chartOnly(fields string) string {
	return header + "charts:\n- {" + fields + "}\n"
}

func TestValidateCharts(t *testing.T) {
	runValidation(t, []validationCase{
		{"minimal", chartDoc(""), ""},
		{"name required", chartOnly("source: 'http://c.io', destination: 'oci://r.io'"), "charts[0].name: required"},
		{"name with slash", chartOnly("name: a/b, source: 'http://c.io', destination: 'oci://r.io'"), "charts[0].name: must be a chart name without slashes"},
		{"source required", chartOnly("name: a, destination: 'oci://r.io'"), "charts[0].source: required"},
		{"source http", chartOnly("name: a, source: 'http://c.io:8080/charts', destination: 'oci://r.io'"), ""},
		{"source oci", chartOnly("name: a, source: 'oci://c.io', destination: 'oci://r.io'"), "charts[0].source: charts entries read HTTP chart repositories; a chart in an OCI registry is an OCI artifact: mirror it with an artifacts entry"},
		{"source with credentials", chartOnly("name: a, source: 'https://u:secret@c.io/charts', destination: 'oci://r.io'"), "charts[0].source: must not hold credentials"},
		{"source without scheme", chartOnly("name: a, source: c.io/charts, destination: 'oci://r.io'"), "charts[0].source: must be an http:// or https:// URL"},
		{"destination required", chartOnly("name: a, source: 'http://c.io'"), "charts[0].destination: required"},
		{"destination registry root", chartOnly("name: a, source: 'http://c.io', destination: 'oci://localhost:5000'"), ""},
		{"destination without scheme", chartOnly("name: a, source: 'http://c.io', destination: r.io/charts"), "charts[0].destination: must be an oci:// URL"},
		{"destination https", chartOnly("name: a, source: 'http://c.io', destination: 'https://r.io'"), "charts[0].destination: must be an oci:// URL"},
		{"destination bad host", chartOnly("name: a, source: 'http://c.io', destination: 'oci://R.io/x'"), `charts[0].destination: registry host "R.io": must be lowercase`},
		{"destination empty host", chartOnly("name: a, source: 'http://c.io', destination: 'oci://'"), `charts[0].destination: registry host "": must not be empty`},
		{"destination bad path", chartOnly("name: a, source: 'http://c.io', destination: 'oci://r.io/a//b'"), `charts[0].destination: invalid repository path component ""`},
		{"version", chartDoc("version: '>=6.0.0 <7'"), ""},
		{"version star", chartDoc("version: '*'"), ""},
		{"version invalid", chartDoc("version: latest"), "charts[0].version: not a valid semver range"},
		{"limit negative", chartDoc("limit: -2"), "charts[0].limit: must not be negative"},
		{"overwrite", chartDoc("overwrite: true"), ""},
	})
}

// TestValidatePlatforms: each platforms item is os/arch[/variant], listed
// once; the error names the item and its line.
func TestValidatePlatforms(t *testing.T) {
	doc := func(items string) string {
		return headerV2 + "artifacts:\n- source: a.io/x\n  destination: b.io/x\n  selector: {}\n  platforms: [" + items + "]\n"
	}
	for _, tt := range []struct{ name, doc, want string }{
		{"os/arch", doc("linux/amd64, linux/arm64"), ""},
		{"variant", doc("linux/arm/v7, linux/arm/v6"), ""},
		{"os version", doc("'windows/amd64:10.0.17763.5458'"), ""},
		{"absent", headerV2 + "artifacts:\n- {source: a.io/x, destination: b.io/x, selector: {}}\n", ""},
		{"empty item", doc("linux/amd64, ''"), `line 7: artifacts[0].platforms[1]: must not be empty, write os/arch or os/arch/variant`},
		{"os only", doc("linux"), `line 7: artifacts[0].platforms[0]: "linux" is not a platform, write os/arch or os/arch/variant`},
		{"trailing slash", doc("linux/amd64/"), `artifacts[0].platforms[0]: "linux/amd64/" is not a platform`},
		{"too many slashes", doc("linux/arm/v7/x"), `artifacts[0].platforms[0]: "linux/arm/v7/x" is not a platform`},
		{"whitespace", doc("' linux/amd64'"), `artifacts[0].platforms[0]: " linux/amd64" is not a platform`},
		{"no arch", doc("linux/"), `artifacts[0].platforms[0]: "linux/" is not a platform`},
		{"duplicate", doc("linux/amd64, linux/arm64, linux/amd64"), `artifacts[0].platforms[2]: "linux/amd64" is already listed as artifacts[0].platforms[0], list each platform once`},
		{"v1beta1 has none", header + "artifacts:\n- {source: a.io/x, destination: b.io/x, selector: {}, platforms: [linux/amd64]}\n", "artifacts[0].platforms: unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			wantError(t, err, tt.want)
		})
	}
}
