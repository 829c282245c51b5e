package dockerconfig

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/credential"
)

func TestRender(t *testing.T) {
	creds := []credential.Credential{
		{Host: "zeta.example.com", Token: "tok&<en>"},
		{Host: "docker.io", Username: "hub", Password: "pw"},
		{Host: "localhost:5000", Username: "u", Password: "p:w"},
	}
	got, err := Render(creds)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"auths":{` +
		`"https://index.docker.io/v1/":{"username":"hub","password":"pw","auth":"aHViOnB3"},` +
		`"localhost:5000":{"username":"u","password":"p:w","auth":"dTpwOnc="},` +
		`"zeta.example.com":{"registrytoken":"tok&<en>"}}}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The same credentials in another order give the same bytes.
	again, _ := Render([]credential.Credential{creds[2], creds[0], creds[1]})
	if string(again) != string(got) {
		t.Error("output depends on input order")
	}
}

func TestRenderRefusesTwoHostsForOneKey(t *testing.T) {
	_, err := Render([]credential.Credential{
		{Host: "docker.io", Token: "a"},
		{Host: "index.docker.io", Token: "b"},
	})
	if err == nil || !strings.Contains(err.Error(), DockerHubKey) || strings.Contains(err.Error(), `"a"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestKey(t *testing.T) {
	for host, want := range map[string]string{
		"docker.io":            DockerHubKey,
		"index.docker.io":      DockerHubKey,
		"registry-1.docker.io": "registry-1.docker.io",
		"ghcr.io":              "ghcr.io",
		"localhost:5000":       "localhost:5000",
	} {
		if got := Key(host); got != want {
			t.Errorf("Key(%q) = %q, want %q", host, got, want)
		}
	}
}
