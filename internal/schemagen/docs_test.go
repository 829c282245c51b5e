package schemagen

import "testing"

// TestDescribe pins how a Go doc comment becomes a description users read.
func TestDescribe(t *testing.T) {
	t.Parallel()
	d := &docs{
		consts: map[string]string{"Kind": "Config", "ProviderA": "a", "ProviderB": "b"},
		names:  []string{"Kind", "ProviderA", "ProviderB"},
	}
	fields := map[string]string{"Kind": "kind", "JWKPath": "jwkPath", "TLS": "tls", "Value": "value"}
	for _, tc := range []struct {
		name, doc string
		isField   bool
		want      string
	}{
		{"field name first, constant after", "Kind must be\nKind.", true, `kind must be "Config".`},
		{"type name first stays", "Kind is a type; set Value.", false, `Kind is a type; set value.`},
		{"constant set", "Value is one of the Provider constants.", true, `value is one of "a" or "b".`},
		{"acronym mid-sentence stays", "TLS is the transport TLS.", true, `tls is the transport TLS.`},
		{"pointer sentence dropped", "Value is the token. A pointer, so that unset differs.", true, `value is the token.`},
		{"pointer clause dropped", "Value is inline, as JWKPath; a pointer for the same reason.", true, `value is inline, as jwkPath.`},
		{"extra names", "Value defaults to DefaultX.", true, `value defaults to 60s.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := d.describe(tc.doc, fields, map[string]string{"DefaultX": "60s"}, tc.isField); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
