package v1beta2_test

import (
	"reflect"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/schematest"
)

// TestSchemaMatchesTypes holds report.schema.json equal to the Go types
// (see schematest.CheckTypes for what equal means).
func TestSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	schematest.CheckTypes(t, v1beta2.ReportSchema, v1beta2.ReportSchemaURL, reflect.TypeFor[v1beta2.Report]())
}

// TestSchemaEnumsMatchConstants holds the schema's closed sets equal to the
// constants the engine writes.
func TestSchemaEnumsMatchConstants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pointer string
		want    []string
	}{
		{"/properties/apiVersion", []string{v1beta2.GroupVersion}},
		{"/properties/kind", []string{v1beta2.KindReport}},
		{"/$defs/status", []string{
			v1beta2.StatusCopied, v1beta2.StatusOverwritten, v1beta2.StatusSkipped, v1beta2.StatusDrifted,
			v1beta2.StatusWouldCopy, v1beta2.StatusWouldOverwrite, v1beta2.StatusFailed,
		}},
		{"/$defs/EntryResult/properties/status", []string{v1beta2.EntryCompleted, v1beta2.EntryFailed}},
		{"/$defs/reason", []string{v1beta2.ReasonUpToDate, v1beta2.ReasonSignatureTooNew}},
	} {
		t.Run(tc.pointer, func(t *testing.T) {
			t.Parallel()
			schematest.CheckValues(t, v1beta2.ReportSchema, tc.pointer, tc.want)
		})
	}
}
