package dockerstore

import (
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/credential"
)

func pair(host string) credential.Credential {
	return credential.Credential{Host: host, Username: "robot", Password: "pw-" + host}
}

func bearer(host string) credential.Credential {
	return credential.Credential{Host: host, Token: "tok-" + host}
}

func TestRoute(t *testing.T) {
	helpers := Settings{CredsStore: "pass", CredHelpers: map[string]string{
		"ecr.example.com":             "ecr-login",
		"https://index.docker.io/v1/": "desktop",
	}}
	cases := []struct {
		name      string
		settings  Settings
		cred      credential.Credential
		plaintext bool
		// want: key, helper, serving, setting, shadowed
		key, helper, serving, setting string
		shadowed                      bool
	}{
		{"no helper: pair in the file", Settings{}, pair("r.example.com"), false, "r.example.com", "", "", "", false},
		{"no helper: bearer in the file", Settings{}, bearer("r.example.com"), false, "r.example.com", "", "", "", false},
		{"credsStore keeps a pair", helpers, pair("r.example.com"), false, "r.example.com", "pass", "pass", "credsStore", false},
		{"credHelpers beats credsStore", helpers, pair("ecr.example.com"), false, "ecr.example.com", "ecr-login", "ecr-login", `credHelpers["ecr.example.com"]`, false},
		{"bearer goes to the file despite a helper", helpers, bearer("r.example.com"), false, "r.example.com", "", "pass", "credsStore", true},
		{"plaintext bypasses the helper", helpers, pair("ecr.example.com"), true, "ecr.example.com", "", "ecr-login", `credHelpers["ecr.example.com"]`, true},
		{"plaintext without a helper", Settings{}, pair("r.example.com"), true, "r.example.com", "", "", "", false},
		{"docker.io under docker's key", helpers, pair("docker.io"), false, "https://index.docker.io/v1/", "desktop", "desktop", `credHelpers["https://index.docker.io/v1/"]`, false},
		{"index.docker.io under docker's key", Settings{}, pair("index.docker.io"), false, "https://index.docker.io/v1/", "", "", "", false},
		{"a port is part of the key", Settings{CredHelpers: map[string]string{"localhost:5000": "pass"}}, pair("localhost:5000"), false, "localhost:5000", "pass", "pass", `credHelpers["localhost:5000"]`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Route(tc.settings, []credential.Credential{tc.cred}, tc.plaintext)
			if err != nil {
				t.Fatal(err)
			}
			p := plan[0]
			if p.Key != tc.key || p.Helper != tc.helper || p.Serving != tc.serving || p.ServingSetting != tc.setting || p.Shadowed() != tc.shadowed {
				t.Errorf("got key=%q helper=%q serving=%q setting=%q shadowed=%v", p.Key, p.Helper, p.Serving, p.ServingSetting, p.Shadowed())
			}
			if p.InFile() != (tc.helper == "") {
				t.Errorf("InFile() = %v with helper %q", p.InFile(), tc.helper)
			}
			if p.Credential != tc.cred {
				t.Errorf("the placement carries %v, want %v", p.Credential, tc.cred)
			}
		})
	}
}

func TestRouteKeepsOrderAndRefusesDuplicateKeys(t *testing.T) {
	creds := []credential.Credential{pair("b.example.com"), bearer("a.example.com"), pair("docker.io")}
	plan, err := Route(Settings{}, creds, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range plan {
		if p.Credential.Host != creds[i].Host {
			t.Errorf("plan[%d] is %s, want %s", i, p.Credential.Host, creds[i].Host)
		}
	}
	_, err = Route(Settings{}, []credential.Credential{pair("docker.io"), bearer("index.docker.io")}, false)
	if err == nil || !strings.Contains(err.Error(), `"docker.io" and "index.docker.io"`) {
		t.Fatalf("want an error naming both hosts, got %v", err)
	}
}
