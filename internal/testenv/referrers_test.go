package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// TestReferrersRegistry: the kit's referrers registry answers the OCI
// referrers API with an index listing what oras attached (and distribution
// v3 answers 404 there, which is why the kit needs it); Discover and the
// access log read it.
func TestReferrersRegistry(t *testing.T) {
	api, v3 := StartReferrersRegistry(t), StartSyncRegistry(t)
	for _, r := range []*Registry{api, v3.Registry} {
		img := PushImage(t, r.Host, "app", "1.0.0", ImageSpec{Platform: "linux/amd64", Layers: []Blob{NewBlob(t, 1, 512)}})
		sbom := AttachSBOM(t, r.Host+"/app@"+img.Digest.String(), "app")
		if got := Discover(t, r.Host+"/app:1.0.0"); len(got) != 1 || got[0].Digest != sbom || got[0].ArtifactType != SBOMType {
			t.Errorf("%s: oras discover %+v, want the SBOM %s", r.Host, got, sbom)
		}
		resp, err := http.Get("http://" + r.Host + "/v2/app/referrers/" + img.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r == v3.Registry {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("distribution v3 answered the referrers API with %d, want 404", resp.StatusCode)
			}
			continue
		}
		var idx struct {
			MediaType string `json:"mediaType"`
			Manifests []struct {
				Digest string `json:"digest"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal(body, &idx); err != nil || resp.StatusCode != http.StatusOK ||
			resp.Header.Get("Content-Type") != "application/vnd.oci.image.index.v1+json" ||
			len(idx.Manifests) != 1 || idx.Manifests[0].Digest != sbom {
			t.Errorf("referrers API: %d %s (%v)\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), err, body)
		}
		if n := CountRequests(r.AccessLog(t), "GET", "^/v2/app/referrers/", 200); n < 1 {
			t.Errorf("the access log has no answered referrers request")
		}
	}
}
