package testenv

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
)

// fullReport uses every field of the report, so the round trip below
// proves the Go types marshal to documents the schema accepts.
func fullReport() v1beta2.Report {
	return v1beta2.Report{
		Schema:     v1beta2.ReportSchemaURL,
		APIVersion: v1beta2.GroupVersion,
		Kind:       v1beta2.KindReport,
		Report: v1beta2.ReportStatus{
			Reporter:   "flux-mirror/v0.1.0",
			Timestamp:  "2026-11-30T07:00:00Z",
			DurationMs: 4200,
			Summary:    v1beta2.Summary{Entries: 2, Copied: 1, Skipped: 1, Failed: 2, ExitCode: 1},
			Results: []v1beta2.EntryResult{
				{
					Source:      "ghcr.io/stefanprodan/podinfo",
					Destination: "registry.example.com/podinfo",
					Status:      v1beta2.EntryCompleted,
					Tags: []v1beta2.TagResult{
						{
							Tag: "6.7.0", Status: v1beta2.StatusCopied,
							Digest: "sha256:" + strings.Repeat("ab", 32),
							Referrers: []v1beta2.ReferrerResult{{
								Digest:       "sha256:" + strings.Repeat("cd", 32),
								ArtifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
								Status:       v1beta2.StatusSkipped, Reason: v1beta2.ReasonUpToDate,
							}},
							Verification: &v1beta2.Verification{
								Provider: "cosign", Issuer: "https://token.actions.githubusercontent.com",
								Identity:       "https://github.com/stefanprodan/podinfo/.github/workflows/release.yml@refs/tags/6.7.0",
								IntegratedTime: "2026-11-01T10:00:00Z", Age: "700h0m0s", MinAge: "24h0m0s",
							},
						},
						{Tag: "6.6.0", Status: v1beta2.StatusSkipped, Reason: v1beta2.ReasonUpToDate, Digest: "sha256:" + strings.Repeat("ef", 32),
							SourceDigest: "sha256:" + strings.Repeat("12", 32)},
						{Tag: "6.5.0", Status: v1beta2.StatusFailed, Error: "destination: 403 Forbidden"},
					},
				},
				{
					Source:      "quay.io/example/gone",
					Destination: "registry.example.com/gone",
					Status:      v1beta2.EntryFailed,
					Error:       "list tags: 404 Not Found",
					Tags:        []v1beta2.TagResult{},
				},
			},
		},
	}
}

func TestValidateReportAcceptsMarshalledTypes(t *testing.T) {
	t.Parallel()
	r := fullReport()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	ValidateReport(t, js)

	r.Schema = "" // YAML output carries no $schema
	ys, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	ValidateReport(t, ys)

	empty := v1beta2.Report{APIVersion: v1beta2.GroupVersion, Kind: v1beta2.KindReport, Report: v1beta2.ReportStatus{
		Reporter: "flux-mirror/dev", Timestamp: "2026-11-30T07:00:00.123Z", Results: []v1beta2.EntryResult{},
	}}
	js, err = json.Marshal(empty)
	if err != nil {
		t.Fatal(err)
	}
	ValidateReport(t, js)
}

// TestValidateReportRefuses edits a valid report one way at a time; each
// edit must be refused with the schema error naming where it went wrong.
func TestValidateReportRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(doc map[string]any)
		want string
	}{
		{"summary key missing", func(d map[string]any) { delete(summary(d), "wouldCopy") }, "missing property 'wouldCopy'"},
		{"unknown tag status", func(d map[string]any) { tag(d, 0)["status"] = "mirrored" }, "/report/results/0/tags/0/status"},
		{"unknown entry status", func(d map[string]any) { entry(d, 0)["status"] = "ok" }, "/report/results/0/status"},
		{"null tags", func(d map[string]any) { entry(d, 1)["tags"] = nil }, "/report/results/1/tags"},
		{"null results", func(d map[string]any) { report(d)["results"] = nil }, "/report/results"},
		{"failed tag without error", func(d map[string]any) { delete(tag(d, 2), "error") }, "missing property 'error'"},
		{"error on a copied tag", func(d map[string]any) { tag(d, 0)["error"] = "boom" }, "/report/results/0/tags/0"},
		{"skipped tag without reason", func(d map[string]any) { delete(tag(d, 1), "reason") }, "missing property 'reason'"},
		{"unknown reason", func(d map[string]any) { tag(d, 1)["reason"] = "same" }, "/report/results/0/tags/1/reason"},
		{"unknown field", func(d map[string]any) { tag(d, 0)["size"] = 3 }, "additional properties 'size'"},
		{"wrong apiVersion", func(d map[string]any) { d["apiVersion"] = "mirror.plugin.fluxcd.io/v1beta1" }, "/apiVersion"},
		{"timestamp not RFC 3339", func(d map[string]any) { report(d)["timestamp"] = "30 Nov 2026 07:00 UTC" }, "/report/timestamp"},
		{"fractional duration", func(d map[string]any) { report(d)["durationMs"] = 1.5 }, "/report/durationMs"},
		{"negative count", func(d map[string]any) { summary(d)["copied"] = -1 }, "/report/summary/copied"},
		{"exit code beyond 2", func(d map[string]any) { summary(d)["exitCode"] = 3 }, "/report/summary/exitCode"},
		{"digest without algorithm", func(d map[string]any) { tag(d, 0)["digest"] = strings.Repeat("ab", 32) }, "/report/results/0/tags/0/digest"},
		{"source digest not a digest", func(d map[string]any) { tag(d, 1)["sourceDigest"] = "" }, "/report/results/0/tags/1/sourceDigest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw, err := json.Marshal(fullReport())
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			tc.edit(doc)
			edited, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			err = validateReport(edited)
			if err == nil {
				t.Fatalf("accepted:\n%s", edited)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

func TestValidateReportRefusesNonDocuments(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"", "[]", "{", "report: [\n"} {
		if err := validateReport([]byte(doc)); err == nil {
			t.Errorf("%q accepted", doc)
		}
	}
}

func report(d map[string]any) map[string]any  { return d["report"].(map[string]any) }
func summary(d map[string]any) map[string]any { return report(d)["summary"].(map[string]any) }
func entry(d map[string]any, i int) map[string]any {
	return report(d)["results"].([]any)[i].(map[string]any)
}
func tag(d map[string]any, i int) map[string]any {
	return entry(d, 0)["tags"].([]any)[i].(map[string]any)
}

// TestValidateReportAcceptsDocsExample keeps the report shown in
// docs/sync.md valid, so the page never teaches a shape the schema refuses.
func TestValidateReportAcceptsDocsExample(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("../../docs/sync.md")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, block := range strings.Split(string(page), "```json\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, `"kind": "Report"`) {
			ValidateReport(t, []byte(block))
			found++
		}
	}
	if found == 0 {
		t.Fatal("docs/sync.md shows no JSON report")
	}
}
