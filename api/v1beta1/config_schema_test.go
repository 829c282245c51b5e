package v1beta1_test

import (
	"reflect"
	"testing"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/internal/schematest"
	"github.com/fluxcd/flux-mirror/internal/selector"
)

// TestConfigSchemaMatchesTypes holds config.schema.json equal to the Go
// types, and to what hack/configschema makes of them and their doc
// comments now.
func TestConfigSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	schematest.CheckTypes(t, v1beta1.ConfigSchema, v1beta1.ConfigSchemaURL, reflect.TypeFor[v1beta1.Config]())
	schematest.CheckGenerated(t, "v1beta1", v1beta1.ConfigSchema)
}

// TestConfigSchemaEnumsMatchConstants holds the schema's closed sets equal
// to the constants the loader accepts.
func TestConfigSchemaEnumsMatchConstants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pointer string
		want    []string
	}{
		{"/properties/apiVersion", []string{v1beta1.GroupVersion}},
		{"/properties/kind", []string{v1beta1.Kind}},
		{"/$defs/Host/properties/provider", []string{
			v1beta1.RegistryProviderECR, v1beta1.RegistryProviderACR, v1beta1.RegistryProviderGAR,
		}},
		{"/$defs/Credential/properties/provider", []string{
			v1beta1.CredentialProviderGitHub, v1beta1.CredentialProviderForgejo, v1beta1.CredentialProviderGCP,
			v1beta1.CredentialProviderAzure, v1beta1.CredentialProviderAWS, v1beta1.CredentialProviderJWTSVID,
		}},
		{"/$defs/ClientAuth/properties/provider", []string{v1beta1.ClientProviderX509SVID}},
		{"/$defs/Selector/properties/sortBy", []string{selector.SortSemver, selector.SortAlphabetical, selector.SortNumerical}},
	} {
		t.Run(tc.pointer, func(t *testing.T) {
			t.Parallel()
			schematest.CheckValues(t, v1beta1.ConfigSchema, tc.pointer, tc.want)
		})
	}
}
