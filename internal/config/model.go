package config

import (
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/cloudhost"
)

// CurrentVersion is the config version to write today.
const CurrentVersion = v1beta2.GroupVersion

// Config is a loaded config in the form every command works on, whatever
// version was written: each version is decoded and validated in its own
// terms (so errors name the user's fields and lines) and then converted
// here. Defaults are filled in.
type Config struct {
	// APIVersion is the version the file was written in.
	APIVersion string
	// Deprecations name what to rename to move the file to the current
	// version; empty for a current file.
	Deprecations []string
	Hosts        []Host
	Artifacts    []Artifact
	Charts       []Chart
}

// DefaultJWTLifetime is the lifetime of a JWT signed from a JWK when the
// config names none (the same in every version).
const DefaultJWTLifetime = 60 * time.Second

// Registry providers of a host: how the registry's own credential is
// minted from the ambient cloud identity. An empty Provider is a generic
// host (its Credential and TLS apply).
const (
	ProviderECR = cloudhost.ECR
	ProviderACR = cloudhost.ACR
	ProviderGAR = cloudhost.GAR
)

// Token providers of a credential Source.
const (
	SourceGitHub  = "github"
	SourceForgejo = "forgejo"
	SourceGCP     = "gcp"
	SourceAzure   = "azure"
	SourceAWS     = "aws"
	SourceSPIFFE  = "spiffe"
)

// Host is how to authenticate and connect to one registry host.
type Host struct {
	// Host is the registry host with an optional port.
	Host string
	// Provider is a Provider* constant, or empty for a generic host.
	Provider string
	// Credential is where the host's token comes from, if anywhere.
	Credential *Source
	// TLS shapes connections to the host (sync).
	TLS *TLS
	// MaxChunkSize caps a blob upload chunk, in KiB; 0 uploads whole blobs.
	MaxChunkSize int64
}

// Source is one token source (the config's credential block): exactly one
// of Value, FromPath, JWKPath, JWKValue and Provider is set.
type Source struct {
	// Username makes the token the password of a username/password pair;
	// without it the token is a bearer token.
	Username string
	Value    *string
	FromPath string
	JWKPath  string
	JWKValue *string
	// Provider is a Source* constant.
	Provider string
	// Audiences of the token; never empty for the sources that take them
	// (the host when the file named none).
	Audiences []string
	// Issuer, Subject and Expiration are the claims of a JWT signed from
	// JWKPath or JWKValue; Expiration is never zero for those.
	Issuer, Subject string
	Expiration      time.Duration
	// Envelope is a text/template applied to the token before use.
	Envelope string
}

// TLS is the transport TLS to a registry.
type TLS struct {
	ServerAuth *ServerAuth
	ClientAuth *ClientAuth
}

// ServerAuth verifies the registry's certificate: a CA bundle from
// FromPath or Value, or SPIFFE.
type ServerAuth struct {
	FromPath, Value string
	SPIFFE          *SPIFFEServer
}

// TrustDomainSelf authorizes servers in the client's own trust domain.
const TrustDomainSelf = "self"

// SPIFFEServer says which server SVIDs to accept: one ServerID (a prefix
// when it ends in "/"), a TrustDomain, or, from v1beta1 files only,
// AuthorizeAny.
type SPIFFEServer struct {
	ServerID, TrustDomain string
	AuthorizeAny          bool
}

// ClientAuth is the client certificate: the workload's X.509-SVID, or a
// Certificate and Key.
type ClientAuth struct {
	SPIFFE           bool
	Certificate, Key *PEMSource
}

// PEMSource is PEM data from a file or inline.
type PEMSource struct {
	FromPath, Value string
}

// Artifact mirrors tags of one OCI repository to another.
type Artifact struct {
	Source, Destination string
	Selector            *Selector
	IncludeReferrers    bool
	Overwrite           bool
	Verify              *Verify
	// Platforms are os/arch[/variant] strings; empty mirrors every
	// platform.
	Platforms []string
}

// Selector picks tags.
type Selector struct {
	Regex  *RegexSelector
	Semver string
	SortBy string
	// Limit is nil for the default.
	Limit *int64
}

// RegexSelector filters tags by a regular expression.
type RegexSelector struct {
	Pattern, Extract string
}

// Verify checks signatures on source artifacts.
type Verify struct {
	Provider          string
	MatchOIDCIdentity []OIDCIdentity
	MinAge            string
	// TrustedRoot and PublicKey are paths confined to Loaded.Root; v1beta2
	// only.
	TrustedRoot, PublicKey string
}

// OIDCIdentity is a keyless signing identity.
type OIDCIdentity struct {
	Issuer, Subject string
}

// Chart mirrors versions of a Helm chart from an HTTP repository into OCI.
type Chart struct {
	Name, Source, Destination, Version string
	// Limit is nil for the default.
	Limit     *int64
	Overwrite bool
}
