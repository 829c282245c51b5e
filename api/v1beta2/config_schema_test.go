package v1beta2_test

import (
	"reflect"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/schematest"
	"github.com/fluxcd/flux-mirror/internal/selector"
)

// TestConfigSchemaMatchesTypes holds config.schema.json equal to the Go
// types, and to what hack/configschema makes of them and their doc
// comments now.
func TestConfigSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	schematest.CheckTypes(t, v1beta2.ConfigSchema, v1beta2.ConfigSchemaURL, reflect.TypeFor[v1beta2.Config]())
	schematest.CheckGenerated(t, "v1beta2", v1beta2.ConfigSchema)
}

// TestConfigSchemaEnumsMatchConstants holds the schema's closed sets equal
// to the constants the loader accepts.
func TestConfigSchemaEnumsMatchConstants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pointer string
		want    []string
	}{
		{"/properties/apiVersion", []string{v1beta2.GroupVersion}},
		{"/properties/kind", []string{v1beta2.Kind}},
		{"/$defs/Host/properties/provider", []string{
			v1beta2.RegistryProviderGeneric, v1beta2.RegistryProviderECR, v1beta2.RegistryProviderACR, v1beta2.RegistryProviderGAR,
		}},
		{"/$defs/Credential/properties/type", []string{v1beta2.CredentialTypeJWT}},
		{"/$defs/Credential/properties/provider", []string{
			v1beta2.CredentialProviderGitHub, v1beta2.CredentialProviderForgejo, v1beta2.CredentialProviderGCP,
			v1beta2.CredentialProviderAzure, v1beta2.CredentialProviderAWS, v1beta2.CredentialProviderSPIFFE,
		}},
		{"/$defs/ServerAuth/properties/provider", []string{v1beta2.TLSProviderSPIFFE}},
		{"/$defs/ClientAuth/properties/provider", []string{v1beta2.TLSProviderSPIFFE}},
		{"/$defs/Selector/properties/sortBy", []string{selector.SortSemver, selector.SortAlphabetical, selector.SortNumerical}},
	} {
		t.Run(tc.pointer, func(t *testing.T) {
			t.Parallel()
			schematest.CheckValues(t, v1beta2.ConfigSchema, tc.pointer, tc.want)
		})
	}
}
