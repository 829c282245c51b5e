package v1beta2

import "time"

// Kind is the kind of a config file; GroupVersion its apiVersion.
const Kind = "Config"

// DefaultJWTLifetime is the lifetime of a JWT signed from jwkPath or
// jwkValue when expiration is not set.
const DefaultJWTLifetime = 60 * time.Second

// Registry providers: how a host is logged in to. ProviderGeneric (or no
// provider) uses the host's credential and tls; the cloud providers get
// the registry's native username and password from the ambient workload
// identity and exclude both.
const (
	RegistryProviderGeneric = "generic"
	RegistryProviderECR     = "ecr"
	RegistryProviderACR     = "acr"
	RegistryProviderGAR     = "gar"
)

// CredentialTypeJWT is the only credential type: the source yields a
// token (usually a JWT) used as a bearer token or as a password.
const CredentialTypeJWT = "jwt"

// Credential providers: a credential that names one mints a token for its
// audiences from an identity the workload already has.
const (
	CredentialProviderGitHub  = "github"
	CredentialProviderForgejo = "forgejo"
	CredentialProviderGCP     = "gcp"
	CredentialProviderAzure   = "azure"
	CredentialProviderAWS     = "aws"
	CredentialProviderSPIFFE  = "spiffe"
)

// TLS settings with fixed values.
const (
	// TLSProviderSPIFFE verifies the server's X.509-SVID (serverAuth) or
	// presents the workload's own (clientAuth).
	TLSProviderSPIFFE = "spiffe"
	// TrustDomainSelf authorizes servers in the client's own trust domain.
	TrustDomainSelf = "self"
)

// Config is a flux-mirror config file, mirror.plugin.fluxcd.io/v1beta2.
// It is a CLI config written in the Kubernetes style, never stored in a
// cluster.
type Config struct {
	// APIVersion must be GroupVersion.
	APIVersion string `json:"apiVersion"`
	// Kind must be Kind.
	Kind string `json:"kind"`
	// Hosts says how to authenticate and connect to each registry host.
	Hosts []Host `json:"hosts,omitempty"`
	// Artifacts lists OCI repositories whose tags sync mirrors.
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// Charts lists Helm charts that sync mirrors from HTTP chart
	// repositories into OCI registries.
	Charts []Chart `json:"charts,omitempty"`
}

// Host binds a registry host to the way flux-mirror authenticates and
// connects to it. At least one of Credential, a cloud Provider, TLS and a
// positive MaxChunkSize is set.
type Host struct {
	// Host is the registry host with an optional port, no scheme or path.
	// Unique within a config.
	Host string `json:"host"`
	// Provider is RegistryProviderGeneric (the default), or
	// RegistryProviderECR, RegistryProviderACR or RegistryProviderGAR,
	// which exclude Credential and TLS.
	Provider string `json:"provider,omitempty"`
	// Credential is the HTTP-layer token source for the host.
	Credential *Credential `json:"credential,omitempty"`
	// TLS is the transport TLS for registry connections (used by sync).
	TLS *TLS `json:"tls,omitempty"`
	// MaxChunkSize caps a blob upload chunk, in KiB (used by sync). Zero
	// uploads each blob in one request.
	MaxChunkSize *int64 `json:"maxChunkSize,omitempty"`
}

// Credential is one token source. Type is required; exactly one of Value,
// FromPath, JWKPath, JWKValue and Provider is set.
type Credential struct {
	// Type is CredentialTypeJWT; required.
	Type string `json:"type"`
	// Username makes the token the password of a username/password pair.
	// Without it the token is a bearer token.
	Username string `json:"username,omitempty"`
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
	// Audiences are the audiences of the token, default [host]; no item
	// may be empty. Allowed with JWKPath, JWKValue and Provider; gcp and
	// azure take at most one. aws signs one X-Audience header each, github
	// and forgejo ask with one audience parameter each, spiffe fetches one
	// JWT-SVID for all of them.
	Audiences []string `json:"audiences,omitempty"`
	// Issuer is the issuer claim; required with, and only allowed with,
	// JWKPath and JWKValue.
	Issuer string `json:"issuer,omitempty"`
	// Subject is the subject claim; required with, and only allowed with,
	// JWKPath and JWKValue.
	Subject string `json:"subject,omitempty"`
	// Expiration is the signed JWT's lifetime as a Go duration ("5m"),
	// greater than zero; only with JWKPath and JWKValue. Defaults to
	// DefaultJWTLifetime.
	Expiration string `json:"expiration,omitempty"`
	// Envelope is a Go text/template applied to the token just before it
	// is used, with {{.Token}} and the functions base64 and hex, for a
	// registry that wants the token wrapped ("{{.Token | base64}}").
	Envelope string `json:"envelope,omitempty"`
}

// TLS configures transport TLS to a registry. At least one field is set.
type TLS struct {
	// ServerAuth says how to verify the registry's certificate.
	ServerAuth *ServerAuth `json:"serverAuth,omitempty"`
	// ClientAuth says which client certificate to present.
	ClientAuth *ClientAuth `json:"clientAuth,omitempty"`
}

// ServerAuth verifies the registry's certificate: a CA bundle from exactly
// one of FromPath and Value, or Provider TLSProviderSPIFFE with SPIFFE.
type ServerAuth struct {
	// Provider is TLSProviderSPIFFE, which needs SPIFFE and excludes
	// FromPath and Value.
	Provider string `json:"provider,omitempty"`
	// FromPath is a PEM CA bundle file, relative to the config's directory.
	FromPath string `json:"fromPath,omitempty"`
	// Value is an inline PEM CA bundle.
	Value string `json:"value,omitempty"`
	// SPIFFE says which server SVIDs to accept.
	SPIFFE *SPIFFEServer `json:"spiffe,omitempty"`
}

// SPIFFEServer says which server SVIDs to accept. Exactly one field is set.
type SPIFFEServer struct {
	// ServerID accepts one SPIFFE ID; an ID ending in "/" accepts every ID
	// of that trust domain whose path starts with it on a segment boundary.
	ServerID string `json:"serverID,omitempty"`
	// TrustDomain accepts any ID in a trust domain; TrustDomainSelf means
	// the client's own.
	TrustDomain string `json:"trustDomain,omitempty"`
}

// ClientAuth is the client certificate: either Provider, or Certificate
// and Key together.
type ClientAuth struct {
	// Provider is TLSProviderSPIFFE: present the workload's X.509-SVID.
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
	// Source is an OCI repository without scheme or tag.
	Source string `json:"source"`
	// Destination is an OCI repository without scheme or tag.
	Destination string `json:"destination"`
	// Selector picks the tags to mirror.
	Selector *Selector `json:"selector"`
	// IncludeReferrers also mirrors signatures, SBOMs and other referrers
	// of each selected digest.
	IncludeReferrers bool `json:"includeReferrers,omitempty"`
	// Overwrite mirrors tags that hold another digest at the destination.
	Overwrite bool `json:"overwrite,omitempty"`
	// Verify checks source signatures before mirroring.
	Verify *Verify `json:"verify,omitempty"`
	// Platforms, when set, mirrors only these platforms of a
	// multi-platform index, each written os/arch or os/arch/variant
	// (linux/amd64, linux/arm/v7): the destination tag then holds a new
	// index listing only those platforms, so its digest differs from the
	// source's. A single-platform image is mirrored unchanged when its
	// platform is listed. Empty mirrors every platform.
	Platforms []string `json:"platforms,omitempty"`
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

// Verify checks the cosign signature of each source tag before it is
// copied: a tag whose signature does not verify is not copied.
type Verify struct {
	// Provider is "cosign".
	Provider string `json:"provider"`
	// MatchOIDCIdentity lists the keyless identities accepted: a signature
	// verifies when its certificate matches any one of them. At least one
	// is required unless PublicKey is set.
	MatchOIDCIdentity []OIDCIdentity `json:"matchOIDCIdentity,omitempty"`
	// MinAge skips tags whose signature the transparency log recorded less
	// than this Go duration ago; a signature without a log time then fails.
	MinAge string `json:"minAge,omitempty"`
	// TrustedRoot is a Sigstore trusted_root.json file (relative to the
	// config's directory) used instead of the Sigstore public-good
	// instance, for a private Sigstore or a run without network access.
	TrustedRoot string `json:"trustedRoot,omitempty"`
	// PublicKey is a PEM public key file (relative to the config's
	// directory): signatures made with its private key are accepted too.
	PublicKey string `json:"publicKey,omitempty"`
}

// OIDCIdentity is a keyless signing identity.
type OIDCIdentity struct {
	// Issuer is the OIDC issuer URL the signing certificate names,
	// matched exactly.
	Issuer string `json:"issuer"`
	// Subject is an RE2 regular expression over the certificate's
	// identity (its subject alternative name), unanchored as cosign's
	// --certificate-identity-regexp: write ^ and $ to match it whole.
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
