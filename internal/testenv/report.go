package testenv

import (
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/schematest"
)

// reportSchema compiles the shipped report schema once per test binary.
var reportSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	return schematest.Compile(v1beta2.ReportSchemaURL, v1beta2.ReportSchema)
})

// ValidateReport fails the test unless doc, a sync report in JSON or YAML,
// is valid against the JSON Schema shipped in api/v1beta2.
func ValidateReport(t testing.TB, doc []byte) {
	t.Helper()
	if err := validateReport(doc); err != nil {
		t.Fatalf("report does not validate against %s: %v\nreport:\n%s", v1beta2.ReportSchemaURL, err, doc)
	}
}

// validateReport is ValidateReport's check, returning the schema's error
// so the helper's own tests can look at it.
func validateReport(doc []byte) error {
	sch, err := reportSchema()
	if err != nil {
		return err
	}
	return schematest.Validate(sch, doc)
}
