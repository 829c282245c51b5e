// Package v1beta2 holds the wire types of flux-mirror's sync report
// (mirror.plugin.fluxcd.io/v1beta2, kind Report).
//
// Minimal stand-in written on h-mirror from the shared contract; the
// h-selector branch owns this package (with its JSON Schema) and replaces
// this file on merge.
package v1beta2

// GroupVersion is the apiVersion of a Report.
const GroupVersion = "mirror.plugin.fluxcd.io/v1beta2"

// KindReport is the kind of a Report.
const KindReport = "Report"

// Tag and entry statuses, and the reasons of a skipped tag.
const (
	StatusCopied         = "copied"
	StatusOverwritten    = "overwritten"
	StatusSkipped        = "skipped"
	StatusDrifted        = "drifted"
	StatusWouldCopy      = "would-copy"
	StatusWouldOverwrite = "would-overwrite"
	StatusFailed         = "failed"

	EntryCompleted = "completed"
	EntryFailed    = "failed"

	ReasonUpToDate        = "up-to-date"
	ReasonSignatureTooNew = "signature-too-new"
)

// Report is what sync prints with -o json|yaml and writes with --report.
type Report struct {
	Schema     string       `json:"$schema,omitempty"`
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Report     ReportStatus `json:"report"`
}

// ReportStatus is one run.
type ReportStatus struct {
	Reporter   string        `json:"reporter"`
	Timestamp  string        `json:"timestamp"`
	DurationMs int64         `json:"durationMs"`
	Summary    Summary       `json:"summary"`
	Results    []EntryResult `json:"results"`
}

// Summary counts the tags by status; every key is always present.
type Summary struct {
	Entries        int `json:"entries"`
	Copied         int `json:"copied"`
	Overwritten    int `json:"overwritten"`
	Skipped        int `json:"skipped"`
	Drifted        int `json:"drifted"`
	WouldCopy      int `json:"wouldCopy"`
	WouldOverwrite int `json:"wouldOverwrite"`
	Failed         int `json:"failed"`
	ExitCode       int `json:"exitCode"`
}

// EntryResult is one config entry.
type EntryResult struct {
	Source      string      `json:"source"`
	Destination string      `json:"destination"`
	Status      string      `json:"status"`
	Error       string      `json:"error,omitempty"`
	Tags        []TagResult `json:"tags"`
}

// TagResult is one tag job.
type TagResult struct {
	Tag          string           `json:"tag"`
	Status       string           `json:"status"`
	Digest       string           `json:"digest,omitempty"`
	Reason       string           `json:"reason,omitempty"`
	Error        string           `json:"error,omitempty"`
	Referrers    []ReferrerResult `json:"referrers,omitempty"`
	Verification *Verification    `json:"verification,omitempty"`
}

// ReferrerResult is one referrer of a tag's digest.
type ReferrerResult struct {
	Digest       string `json:"digest"`
	ArtifactType string `json:"artifactType"`
	Status       string `json:"status"`
	Reason       string `json:"reason,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Verification is the signature check of a tag.
type Verification struct {
	Provider       string `json:"provider"`
	Issuer         string `json:"issuer,omitempty"`
	Identity       string `json:"identity,omitempty"`
	IntegratedTime string `json:"integratedTime,omitempty"`
	Age            string `json:"age,omitempty"`
	MinAge         string `json:"minAge,omitempty"`
}

// ReportSchemaURL is the report's "$schema" in JSON output.
const ReportSchemaURL = "https://raw.githubusercontent.com/fluxcd/flux-mirror/main/api/v1beta2/report.schema.json"
