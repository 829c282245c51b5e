package testenv

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
)

// reportSchema compiles the shipped report schema once per test binary.
// Formats (date-time, uri) are asserted, not just annotated, so a
// timestamp that is not RFC 3339 fails validation.
var reportSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v1beta2.ReportSchema))
	if err != nil {
		return nil, fmt.Errorf("api/v1beta2/report.schema.json: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(v1beta2.ReportSchemaURL, doc); err != nil {
		return nil, fmt.Errorf("api/v1beta2/report.schema.json: %w", err)
	}
	return c.Compile(v1beta2.ReportSchemaURL)
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
	// JSON is YAML, so one path reads both; YAMLToJSON keeps numbers as
	// written, and UnmarshalJSON keeps them as json.Number, so an integer
	// stays an integer for the schema.
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("not JSON or YAML: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return fmt.Errorf("not JSON or YAML: %w", err)
	}
	return sch.Validate(v)
}
