package mirror

import (
	"testing"
)

// TestKeepChildren: the new index keeps the source's fields in their
// order and bytes (annotations, subject, fields it does not know) and
// each kept child's bytes, drops only the whitespace between the index's
// own fields, and is the same for the same input.
func TestKeepChildren(t *testing.T) {
	src := `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:aa", "size": 1, "platform": {"architecture": "amd64", "os": "linux"}},
    {"digest": "sha256:bb",   "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 2, "platform": {"os": "linux", "architecture": "arm64"}, "x-extra": [1, 2]},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:cc", "size": 3}
  ],
  "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:dd", "size": 4},
  "annotations": {"org.opencontainers.image.source": "https://example.com/a<b>"},
  "x-unknown": {"kept": true}
}`
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"digest": "sha256:bb",   "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 2, "platform": {"os": "linux", "architecture": "arm64"}, "x-extra": [1, 2]},` +
		`{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:cc", "size": 3}],` +
		`"subject":{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:dd", "size": 4},` +
		`"annotations":{"org.opencontainers.image.source": "https://example.com/a<b>"},"x-unknown":{"kept": true}}`
	for range 2 {
		got, err := keepChildren([]byte(src), []int{1, 2})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	}
	for _, bad := range []string{`[]`, `{"manifests": {}}`, `{"manifests": [], "manifests": []}`, `{"a": 1`} {
		if _, err := keepChildren([]byte(bad), nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
