package schemagen

import (
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"time"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/selector"
)

// Spec is what a version's schema needs beyond its Go types. Keys are
// "Type.jsonField", with "[]" appended for an array's items.
type Spec struct {
	// Root is the config's Go type.
	Root reflect.Type
	// URL is the schema's $id.
	URL string
	// Title is the schema's title.
	Title string
	// Constants names the package's string constants a field takes, a name
	// ending in "*" standing for every constant with that prefix, so a new
	// constant reaches the schema on the next go generate.
	Constants map[string][]string
	// Literals are values a field takes that the package has no constant
	// for.
	Literals map[string][]string
	// Names are the texts of identifiers in doc comments that are not
	// string constants, such as a default duration.
	Names map[string]string
	// Extra are further keywords (bounds, patterns) for a value.
	Extra map[string]obj
}

// goDuration is what time.ParseDuration reads, without negative values,
// which no field allows.
const goDuration = `^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// shared holds the parts both versions have in common.
func shared() Spec {
	return Spec{
		Constants: map[string][]string{
			"Config.apiVersion":   {"GroupVersion"},
			"Config.kind":         {"Kind"},
			"Host.provider":       {"RegistryProvider*"},
			"Credential.provider": {"CredentialProvider*"},
		},
		Literals: map[string][]string{
			"Selector.sortBy": {selector.SortSemver, selector.SortAlphabetical, selector.SortNumerical},
			// The loader's only verifier; api has no constant for it.
			"Verify.provider": {"cosign"},
		},
		Extra: map[string]obj{
			"Host.host":         {{"minLength", 1}},
			"Host.maxChunkSize": {{"minimum", 0}},
			"Selector.limit":    {{"minimum", 0}},
			"Chart.limit":       {{"minimum", 0}},
			"Verify.minAge":     {{"pattern", goDuration}},
		},
	}
}

// For returns the Spec of a config version, "v1beta1" or "v1beta2".
func For(version string) (Spec, error) {
	s := shared()
	switch version {
	case "v1beta1":
		s.Root = reflect.TypeFor[v1beta1.Config]()
		s.URL = v1beta1.ConfigSchemaURL
		s.Title = "flux-mirror config " + v1beta1.GroupVersion
		s.Constants["ClientAuth.provider"] = []string{"ClientProviderX509SVID"}
		s.Names = map[string]string{"DefaultJWTLifetime": seconds(v1beta1.DefaultJWTLifetime)}
		s.Extra["Credential.exp"] = obj{{"pattern", goDuration}}
	case "v1beta2":
		s.Root = reflect.TypeFor[v1beta2.Config]()
		s.URL = v1beta2.ConfigSchemaURL
		s.Title = "flux-mirror config " + v1beta2.GroupVersion
		maps.Copy(s.Constants, map[string][]string{
			"Credential.type":     {"CredentialType*"},
			"ServerAuth.provider": {"TLSProvider*"},
			"ClientAuth.provider": {"TLSProvider*"},
		})
		s.Names = map[string]string{"DefaultJWTLifetime": seconds(v1beta2.DefaultJWTLifetime)}
		s.Extra["Credential.expiration"] = obj{{"pattern", goDuration}}
		s.Extra["Credential.audiences[]"] = obj{{"minLength", 1}}
	default:
		return Spec{}, fmt.Errorf("no config schema for version %q (want v1beta1 or v1beta2)", version)
	}
	return s, nil
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}
