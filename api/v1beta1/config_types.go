// Package v1beta1 holds the wire types of the flux-mirror config file,
// mirror.plugin.fluxcd.io/v1beta1, kind Config.
//
// The types carry no behaviour beyond defaults: loading, substitution and
// validation live in internal/config.
package v1beta1

import "time"

const (
	// GroupVersion is the only apiVersion this package decodes.
	GroupVersion = "mirror.plugin.fluxcd.io/v1beta1"
	// Kind is the only kind this package decodes.
	Kind = "Config"

	// DefaultJWTLifetime is the lifetime of a JWT signed from jwkPath or
	// jwkValue when exp is not set.
	DefaultJWTLifetime = 60 * time.Second
)

// Registry providers: a host that names one gets the registry's native
// username and password from the ambient cloud workload identity.
const (
	RegistryProviderECR = "ecr"
	RegistryProviderACR = "acr"
	RegistryProviderGAR = "gar"
)

// Credential providers: a credential that names one mints a token for its
// audience from an identity the workload already has.
const (
	CredentialProviderGitHub  = "github"
	CredentialProviderForgejo = "forgejo"
	CredentialProviderGCP     = "gcp"
	CredentialProviderAzure   = "azure"
	CredentialProviderAWS     = "aws"
	CredentialProviderJWTSVID = "jwt-svid"
)

// TLS settings with fixed values.
const (
	// TrustDomainSelf authorizes servers in the client's own trust domain.
	TrustDomainSelf = "self"
	// ClientProviderX509SVID presents the workload's X.509-SVID.
	ClientProviderX509SVID = "x509-svid"
)

// Config is a flux-mirror config file. It is a CLI config written in the
// Kubernetes style, never stored in a cluster.
type Config struct {
	// APIVersion must be GroupVersion.
	APIVersion string `json:"apiVersion"`
	// Kind must be Kind.
	Kind string `json:"kind"`
	// Hosts says how to authenticate to each registry host; read by secret
	// and login.
	Hosts []Host `json:"hosts,omitempty"`
	// Artifacts lists OCI artifacts to mirror; validated, not yet acted on.
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// Charts lists Helm charts to mirror; validated, not yet acted on.
	Charts []Chart `json:"charts,omitempty"`
}

// Host binds a registry host to the way flux-mirror authenticates to it.
// At least one of Credential, Provider, TLS and MaxChunkSize is set.
type Host struct {
	// Host is the registry host with an optional port, no scheme or path.
	// Unique within a config.
	Host string `json:"host"`
	// Provider is RegistryProviderECR, RegistryProviderACR or
	// RegistryProviderGAR. It excludes Credential, Username and TLS.
	Provider string `json:"provider,omitempty"`
	// Username, with Credential, makes the token the password of a
	// username/password pair. Without it the token is a bearer token.
	Username string `json:"username,omitempty"`
	// Credential is the HTTP-layer token source for the host.
	Credential *Credential `json:"credential,omitempty"`
	// TLS is the transport TLS for registry connections (used by sync).
	TLS *TLS `json:"tls,omitempty"`
	// MaxChunkSize caps a blob upload chunk, in KiB (used by sync). Zero
	// uploads each blob in one request.
	MaxChunkSize *int64 `json:"maxChunkSize,omitempty"`
}

// Credential is one token source. Exactly one of Value, FromPath, JWKPath,
// JWKValue and Provider is set.
type Credential struct {
	// Value is the token as written, normally a ${VAR} reference. A pointer,
	// so that a reference to a set-but-empty variable is told apart from an
	// unset field.
	Value *string `json:"value,omitempty"`
	// FromPath is a file holding the token, relative to the config file's
	// directory; read on every run, surrounding whitespace trimmed.
	FromPath string `json:"fromPath,omitempty"`
	// JWKPath is a file holding a private JWK (or a set of one) that signs a
	// fresh JWT on every run; relative to the config file's directory.
	JWKPath string `json:"jwkPath,omitempty"`
	// JWKValue is an inline private JWK (or a set of one), as JWKPath; a
	// pointer for the same reason as Value.
	JWKValue *string `json:"jwkValue,omitempty"`
	// Provider mints a token from an ambient identity: one of the
	// CredentialProvider constants.
	Provider string `json:"provider,omitempty"`

	// Iss is the issuer claim; required with, and only allowed with,
	// JWKPath and JWKValue.
	Iss string `json:"iss,omitempty"`
	// Sub is the subject claim; required with, and only allowed with,
	// JWKPath and JWKValue.
	Sub string `json:"sub,omitempty"`
	// Aud is the audience; allowed with JWKPath, JWKValue and Provider.
	// Defaults to the host.
	Aud string `json:"aud,omitempty"`
	// Exp is the signed JWT's lifetime as a Go duration ("5m"); only with
	// JWKPath and JWKValue. Defaults to DefaultJWTLifetime.
	Exp string `json:"exp,omitempty"`
	// Envelope is a Go text/template applied to the token just before it
	// is used, with {{.Token}} and the functions base64 and hex, as in
	// v1beta2: the one field v1beta1 gained after v1beta2 came.
	Envelope string `json:"envelope,omitempty"`
}

// TLS configures transport TLS to a registry. At least one field is set.
type TLS struct {
	// ServerAuth says how to verify the registry's certificate.
	ServerAuth *ServerAuth `json:"serverAuth,omitempty"`
	// ClientAuth says which client certificate to present.
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`
}

// ServerAuth verifies the registry's certificate. Exactly one field is set.
type ServerAuth struct {
	// FromPath is a PEM CA bundle file, relative to the config's directory.
	FromPath string `json:"fromPath,omitempty"`
	// Value is an inline PEM CA bundle.
	Value string `json:"value,omitempty"`
	// SPIFFE verifies the server's X.509-SVID.
	SPIFFE *SPIFFEServer `json:"spiffe,omitempty"`
}

// SPIFFEServer says which server SVIDs to accept. Exactly one field is set.
type SPIFFEServer struct {
	// ServerID accepts one SPIFFE ID.
	ServerID string `json:"serverID,omitempty"`
	// TrustDomain accepts any ID in a trust domain; TrustDomainSelf means
	// the client's own.
	TrustDomain string `json:"trustDomain,omitempty"`
	// AuthorizeAny accepts any SVID the trust bundle validates.
	AuthorizeAny bool `json:"authorizeAny,omitempty"`
}

// ClientAuth is the client certificate: either Provider, or Certificate
// and Key together.
type ClientAuth struct {
	// Provider is ClientProviderX509SVID.
	Provider string `json:"provider,omitempty"`
	// Certificate is the PEM certificate chain.
	Certificate *PEMSource `json:"certificate,omitempty"`
	// Key is the PEM private key.
	Key *PEMSource `json:"key,omitempty"`
}

// PEMSource is PEM data from exactly one of FromPath and Value.
type PEMSource struct {
	// FromPath is a file relative to the config's directory.
	FromPath string `json:"fromPath,omitempty"`
	// Value is the PEM data inline.
	Value string `json:"value,omitempty"`
}

// Artifact mirrors tags of one OCI repository to another.
type Artifact struct {
	// Source is an OCI repository without scheme.
	Source string `json:"source"`
	// Destination is an OCI repository without scheme.
	Destination string `json:"destination"`
	// Selector picks the tags to mirror.
	Selector *Selector `json:"selector"`
	// IncludeReferrers also mirrors signatures, SBOMs and other referrers.
	IncludeReferrers bool `json:"includeReferrers,omitempty"`
	// Overwrite mirrors tags that already exist at the destination again.
	Overwrite bool `json:"overwrite,omitempty"`
	// Verify checks source signatures before mirroring.
	Verify *Verify `json:"verify,omitempty"`
}

// Selector picks tags: Regex and/or Semver filter, SortBy orders, Limit keeps
// the first ones.
type Selector struct {
	// Regex filters tags by a pattern.
	Regex *RegexSelector `json:"regex,omitempty"`
	// Semver filters tags by a semver range.
	Semver string `json:"semver,omitempty"`
	// SortBy is semver (default), alphabetical or numerical.
	SortBy string `json:"sortBy,omitempty"`
	// Limit is how many tags to keep, default 1; 0 keeps all.
	Limit *int64 `json:"limit,omitempty"`
}

// RegexSelector filters tags by a regular expression.
type RegexSelector struct {
	// Pattern is an RE2 regular expression; required.
	Pattern string `json:"pattern"`
	// Extract is the replacement, with $1-style references, that yields the
	// sort key.
	Extract string `json:"extract,omitempty"`
}

// Verify checks signatures on source artifacts.
type Verify struct {
	// Provider is "cosign".
	Provider string `json:"provider"`
	// MatchOIDCIdentity lists the keyless identities accepted.
	MatchOIDCIdentity []OIDCIdentity `json:"matchOIDCIdentity,omitempty"`
	// MinAge skips artifacts younger than this Go duration.
	MinAge string `json:"minAge,omitempty"`
}

// OIDCIdentity is a keyless signing identity, both fields regular
// expressions.
type OIDCIdentity struct {
	// Issuer matches the OIDC issuer.
	Issuer string `json:"issuer"`
	// Subject matches the certificate subject.
	Subject string `json:"subject"`
}

// Chart mirrors versions of a Helm chart from an HTTP repository into OCI.
type Chart struct {
	// Name is the chart's name; required.
	Name string `json:"name"`
	// Source is the http(s) URL of the chart repository; required.
	Source string `json:"source"`
	// Destination is an oci:// URL; required.
	Destination string `json:"destination"`
	// Version is a semver range, default "*".
	Version string `json:"version,omitempty"`
	// Limit is how many versions to keep, default 1; 0 keeps all.
	Limit *int64 `json:"limit,omitempty"`
	// Overwrite mirrors versions that already exist at the destination again.
	Overwrite bool `json:"overwrite,omitempty"`
}
