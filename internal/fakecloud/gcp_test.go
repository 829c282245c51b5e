package fakecloud

import (
	"net/http"
	"strings"
	"testing"
)

// TestGCEMetadataFlavor checks the header contract the real metadata
// server enforces, so that a client that forgets it fails here too.
func TestGCEMetadataFlavor(t *testing.T) {
	g := NewGCE(t)
	c := NewHostNet(t).Client()
	url := "http://" + g.Host + "/computeMetadata/v1/instance/service-accounts/default/token"
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Metadata-Flavor") != "Google" {
		t.Errorf("without the header: %s, flavor %q", res.Status, res.Header.Get("Metadata-Flavor"))
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Metadata-Flavor", "Google")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(g.Issued()) != 1 {
		t.Errorf("with the header: %s, %d tokens issued", res.Status, len(g.Issued()))
	}
}

// TestHostNetStaysOnLoopback checks that the test client maps fake names
// and refuses everything off the machine.
func TestHostNetStaysOnLoopback(t *testing.T) {
	n := NewHostNet(t)
	n.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }), "myregistry.azurecr.io")
	c := n.Client()
	res, err := c.Get("https://myregistry.azurecr.io/v2/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot {
		t.Errorf("mapped name: %s", res.Status)
	}
	for _, u := range []string{"https://other.azurecr.io/v2/", "http://169.254.169.254/"} {
		if _, err := c.Get(u); err == nil || !strings.Contains(err.Error(), "loopback fakes only") {
			t.Errorf("%s: err = %v, want a refusal", u, err)
		}
	}
}
