// Package v1beta2 holds the wire types of mirror.plugin.fluxcd.io/v1beta2:
// the config file (kind Config, config_types.go) and the report `flux-mirror
// sync` prints with -o json|yaml and writes with --report (kind Report).
//
// The types carry no behaviour; loading and validation live in
// internal/config. Their JSON Schema, report.schema.json, ships
// in this package as ReportSchema; a test holds it equal to the types, so a
// field added here without the schema (or the reverse) fails the build's
// tests.
package v1beta2

import _ "embed"

const (
	// GroupVersion is the apiVersion of every Report and of a v1beta2
	// config.
	GroupVersion = "mirror.plugin.fluxcd.io/v1beta2"
	// KindReport is the kind of a Report.
	KindReport = "Report"
)

// ReportSchemaURL is the $id of ReportSchema and the "$schema" a JSON
// report carries. It is the raw URL of report.schema.json on the default
// branch, so editors and validators that follow "$schema" fetch the same
// bytes this package embeds; a breaking change to the report gets a new
// API version and so a new path, never a change under this URL.
const ReportSchemaURL = "https://raw.githubusercontent.com/fluxcd/flux-mirror/main/api/v1beta2/report.schema.json"

// ReportSchema is the JSON Schema (draft 2020-12) of a Report.
//
//go:embed report.schema.json
var ReportSchema []byte

// Tag and referrer statuses: what happened to one tag (or referrer),
// following the decision table of the sync docs.
const (
	// StatusCopied: the destination lacked the tag and it was copied.
	StatusCopied = "copied"
	// StatusOverwritten: the destination held another digest and overwrite
	// replaced it.
	StatusOverwritten = "overwritten"
	// StatusSkipped: nothing to do; Reason says why.
	StatusSkipped = "skipped"
	// StatusDrifted: the destination holds another digest and overwrite is
	// off; nothing was written.
	StatusDrifted = "drifted"
	// StatusWouldCopy: a dry run found the tag missing at the destination.
	StatusWouldCopy = "would-copy"
	// StatusWouldOverwrite: a dry run with overwrite found another digest.
	StatusWouldOverwrite = "would-overwrite"
	// StatusFailed: the job failed; Error says why.
	StatusFailed = "failed"
)

// Entry statuses: whether an entry's plan ran. A completed entry may still
// hold failed tags.
const (
	// EntryCompleted: the entry was planned and its tags ran.
	EntryCompleted = "completed"
	// EntryFailed: the plan failed (listing, selection, index); Error says why.
	EntryFailed = "failed"
)

// Reasons a tag or referrer was skipped.
const (
	// ReasonUpToDate: the destination already holds the source digest.
	ReasonUpToDate = "up-to-date"
	// ReasonSignatureTooNew: the signature is younger than verify.minAge.
	ReasonSignatureTooNew = "signature-too-new"
)

// Report is the document sync prints with -o json|yaml.
type Report struct {
	// Schema is ReportSchemaURL in JSON output, empty (left out) in YAML.
	Schema string `json:"$schema,omitempty"`
	// APIVersion is GroupVersion.
	APIVersion string `json:"apiVersion"`
	// Kind is KindReport.
	Kind string `json:"kind"`
	// Report is the outcome of the run.
	Report ReportStatus `json:"report"`
}

// ReportStatus is the outcome of one sync run.
type ReportStatus struct {
	// Reporter names the program and its version: flux-mirror/<version>.
	Reporter string `json:"reporter"`
	// Timestamp is when the run started, RFC 3339 in UTC.
	Timestamp string `json:"timestamp"`
	// DurationMs is the run's wall time in milliseconds.
	DurationMs int64 `json:"durationMs"`
	// Summary counts the results.
	Summary Summary `json:"summary"`
	// Results holds one item per entry, in config order, artifacts first;
	// never null.
	Results []EntryResult `json:"results"`
}

// Summary counts the tag results of a run. Every key is always present so
// that consumers can read a count without checking for it.
type Summary struct {
	// Entries is the number of entries run.
	Entries int `json:"entries"`
	// Copied counts tags with StatusCopied.
	Copied int `json:"copied"`
	// Overwritten counts tags with StatusOverwritten.
	Overwritten int `json:"overwritten"`
	// Skipped counts tags with StatusSkipped.
	Skipped int `json:"skipped"`
	// Drifted counts tags with StatusDrifted.
	Drifted int `json:"drifted"`
	// WouldCopy counts tags with StatusWouldCopy.
	WouldCopy int `json:"wouldCopy"`
	// WouldOverwrite counts tags with StatusWouldOverwrite.
	WouldOverwrite int `json:"wouldOverwrite"`
	// Failed counts tags with StatusFailed plus entries whose plan failed.
	Failed int `json:"failed"`
	// ExitCode is 0 (all well), 1 (something failed) or 2 (something
	// drifted), whatever --drift-exit-code makes the process return.
	ExitCode int `json:"exitCode"`
}

// EntryResult is the outcome of one artifacts or charts entry.
type EntryResult struct {
	// Source is the artifact's source repository, or for a chart the
	// repository URL and the chart name joined by "/".
	Source string `json:"source"`
	// Destination is the destination repository.
	Destination string `json:"destination"`
	// Status is EntryCompleted or EntryFailed.
	Status string `json:"status"`
	// Error says why the plan failed; only with EntryFailed.
	Error string `json:"error,omitempty"`
	// Tags holds one item per selected tag (chart version), in plan
	// order; never null, empty when the plan failed or selected nothing.
	Tags []TagResult `json:"tags"`
}

// TagResult is the outcome of one tag (or chart version).
type TagResult struct {
	// Tag is the tag, or the chart version.
	Tag string `json:"tag"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Digest is the source digest (algorithm:hex); for a chart, the
	// archive's sha256 written as sha256:<hex>. Empty when unknown.
	Digest string `json:"digest,omitempty"`
	// SourceDigest is the source tag's own digest when the entry's
	// platforms left children of its index out: Digest is then the digest
	// of the new index of the chosen platforms, the one compared with and
	// written to the destination. Absent otherwise.
	SourceDigest string `json:"sourceDigest,omitempty"`
	// Reason says why a tag was skipped; only with StatusSkipped.
	Reason string `json:"reason,omitempty"`
	// Error says why the job failed; only with StatusFailed.
	Error string `json:"error,omitempty"`
	// Referrers holds one item per referrer mirrored with the tag, when the
	// entry includes referrers.
	Referrers []ReferrerResult `json:"referrers,omitempty"`
	// Verification describes the signature checked before copying, when
	// the entry verifies signatures.
	Verification *Verification `json:"verification,omitempty"`
}

// ReferrerResult is the outcome of one referrer (signature, SBOM, ...) of a
// tag's digest: an OCI referrer, or one of cosign's tags next to the
// digest (sha256-<hex>.sig, .att, .sbom), which Tag names.
type ReferrerResult struct {
	// Digest is the referrer manifest's digest at the source. Empty only
	// for a cosign tag that could not be read.
	Digest string `json:"digest,omitempty"`
	// ArtifactType is the OCI referrer's artifact type (or its config
	// media type when the manifest has none); empty for a cosign tag.
	ArtifactType string `json:"artifactType"`
	// Tag is the cosign tag the row is about; empty for an OCI referrer,
	// which is found and copied by digest.
	Tag string `json:"tag,omitempty"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Reason says why the referrer was skipped; only with StatusSkipped.
	Reason string `json:"reason,omitempty"`
	// Error says why copying the referrer failed; only with StatusFailed.
	Error string `json:"error,omitempty"`
}

// Verification is the signature that allowed a tag to be copied.
type Verification struct {
	// Provider is the verifier, "cosign".
	Provider string `json:"provider"`
	// Issuer is the OIDC issuer of the signing certificate.
	Issuer string `json:"issuer,omitempty"`
	// Identity is the certificate identity (subject) that matched.
	Identity string `json:"identity,omitempty"`
	// IntegratedTime is when the transparency log recorded the signature,
	// RFC 3339 in UTC.
	IntegratedTime string `json:"integratedTime,omitempty"`
	// Age is how old the signature was when checked, a Go duration.
	Age string `json:"age,omitempty"`
	// MinAge is the verify.minAge the signature was held to, a Go duration.
	MinAge string `json:"minAge,omitempty"`
}
