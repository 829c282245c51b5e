package dockerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// helperPath puts the Debian credential helpers, pass and gpg on PATH.
func helperPath(t *testing.T) {
	t.Setenv("PATH", "/usr/bin:/bin")
}

// TestHelperKeepsThePair stores through Debian's docker-credential-pass
// with a real pass store: the helper holds the pair, config.json holds an
// empty entry for the host (its old plaintext auth gone) and the bearer
// token as registrytoken, and docker's own lookup finds both.
func TestHelperKeepsThePair(t *testing.T) {
	helperPath(t)
	p := testenv.StartPass(t)
	p.SetEnv(t)
	dir := t.TempDir()
	writeConfig(t, dir, `{"auths": {"r.example.com": {"auth": "b2xkOm9sZC1wdw=="}, "keep.example.com": {"auth": "a2VlcDprZWVw"}}, "credsStore": "pass"}`, 0o600)

	plan := apply(t, loadDir(t, dir), false, pair("r.example.com"), bearer("localhost:5000"))
	if plan[0].Helper != "pass" || !plan[1].InFile() || !plan[1].Shadowed() {
		t.Fatalf("plan = %+v", plan)
	}

	var list map[string]string
	if err := json.Unmarshal([]byte(p.HelperOutput(t, "list", "")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list["r.example.com"] != "robot" {
		t.Errorf("docker-credential-pass list = %v, want only r.example.com: robot", list)
	}
	var got struct{ ServerURL, Username, Secret string }
	if err := json.Unmarshal([]byte(p.HelperOutput(t, "get", "r.example.com")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Username != "robot" || got.Secret != "pw-r.example.com" {
		t.Errorf("docker-credential-pass get = %q/%q", got.Username, got.Secret)
	}

	raw := readConfig(t, dir)
	var file struct {
		Auths      map[string]map[string]string `json:"auths"`
		CredsStore string                       `json:"credsStore"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if e, ok := file.Auths["r.example.com"]; !ok || len(e) != 0 {
		t.Errorf("auths[r.example.com] = %v, want an empty entry", e)
	}
	if bytes.Contains(raw, []byte("pw-r.example.com")) || bytes.Contains(raw, []byte("b2xkOm9sZC1wdw==")) {
		t.Errorf("config.json still holds a password for r.example.com:\n%s", raw)
	}
	if file.Auths["localhost:5000"]["registrytoken"] != "tok-localhost:5000" || file.Auths["keep.example.com"]["auth"] != "a2VlcDprZWVw" || file.CredsStore != "pass" {
		t.Errorf("config.json:\n%s", raw)
	}

	back, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ac, err := back.GetAuthConfig("r.example.com"); err != nil || ac.Username != "robot" || ac.Password != "pw-r.example.com" {
		t.Errorf("docker reads r.example.com through the helper as %q/%q (%v)", ac.Username, ac.Password, err)
	}
	if ac, err := back.GetAuthConfig("localhost:5000"); err != nil || ac.RegistryToken != "tok-localhost:5000" {
		t.Errorf("docker reads localhost:5000 as %+v (%v)", ac, err)
	}
}

// TestHelperMatchesDockersNativeStore: storing a pair through a helper
// leaves config.json byte for byte as docker's own helper-backed store
// leaves it, and the helper holds the same entry.
func TestHelperMatchesDockersNativeStore(t *testing.T) {
	helperPath(t)
	p := testenv.StartPass(t)
	p.SetEnv(t)
	const existing = `{"auths": {"r.example.com": {"auth": "b2xkOm9sZC1wdw=="}}, "credsStore": "pass", "psFormat": "x"}`
	ours, theirs := t.TempDir(), t.TempDir()
	writeConfig(t, ours, existing, 0o600)
	writeConfig(t, theirs, existing, 0o600)

	f, err := config.Load(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.GetCredentialsStore("r.example.com").Store(types.AuthConfig{
		ServerAddress: "r.example.com", Username: "robot", Password: "pw-r.example.com",
	}); err != nil {
		t.Fatal(err)
	}
	docker := p.HelperOutput(t, "get", "r.example.com")
	p.HelperOutput(t, "erase", "r.example.com")

	apply(t, loadDir(t, ours), false, pair("r.example.com"))
	if got, want := readConfig(t, ours), readConfig(t, theirs); !bytes.Equal(got, want) {
		t.Errorf("config.json differs from docker's:\nours:\n%s\ndocker's:\n%s", got, want)
	}
	if got := p.HelperOutput(t, "get", "r.example.com"); got != docker {
		t.Errorf("the helper holds %s after login, %s after docker", got, docker)
	}
}

// TestDefaultHelperAdoption: like docker login, a config with no
// credentials adopts the platform's default helper (pass, found on PATH)
// as credsStore, but only when a pair would be stored through it.
func TestDefaultHelperAdoption(t *testing.T) {
	helperPath(t)
	cases := []struct {
		name      string
		existing  string
		plaintext bool
		creds     []credential.Credential
		want      string
	}{
		{"fresh config, a pair", "", false, []credential.Credential{pair("r.example.com")}, "pass"},
		{"empty auths, a pair", `{"auths": {}}`, false, []credential.Credential{pair("r.example.com")}, "pass"},
		{"--plaintext", "", true, []credential.Credential{pair("r.example.com")}, ""},
		{"bearer tokens only", "", false, []credential.Credential{bearer("r.example.com")}, ""},
		{"config already has credentials", `{"auths": {"x.example.com": {"auth": "eDp5"}}}`, false, []credential.Credential{pair("r.example.com")}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.existing != "" {
				writeConfig(t, dir, tc.existing, 0o600)
			}
			c := loadDir(t, dir)
			plan, err := c.Plan(tc.creds, tc.plaintext)
			if err != nil {
				t.Fatal(err)
			}
			if c.Adopted() != tc.want || plan[0].Helper != tc.want || c.Settings().CredsStore != tc.want {
				t.Errorf("adopted %q, helper %q, credsStore %q; want %q", c.Adopted(), plan[0].Helper, c.Settings().CredsStore, tc.want)
			}
		})
	}
	t.Run("no helper installed", func(t *testing.T) {
		emptyPath(t)
		c := loadDir(t, t.TempDir())
		if _, err := c.Plan([]credential.Credential{pair("r.example.com")}, false); err != nil || c.Adopted() != "" {
			t.Errorf("adopted %q (%v) with no helper on PATH", c.Adopted(), err)
		}
	})
	t.Run("adopted and stored", func(t *testing.T) {
		p := testenv.StartPass(t)
		p.SetEnv(t)
		dir := t.TempDir()
		apply(t, loadDir(t, dir), false, pair("r.example.com"))
		if !bytes.Contains(readConfig(t, dir), []byte(`"credsStore": "pass"`)) {
			t.Errorf("config.json does not name the adopted helper:\n%s", readConfig(t, dir))
		}
		if !strings.Contains(p.HelperOutput(t, "list", ""), `"r.example.com":"robot"`) {
			t.Error("the adopted helper does not hold the pair")
		}
	})
}

// TestHelperFailureLeavesConfig: when a helper fails, config.json is not
// written, the error names the host, the helper and the pairs the helpers
// already took, and never the password.
func TestHelperFailureLeavesConfig(t *testing.T) {
	helperPath(t)
	p := testenv.StartPass(t)
	p.SetEnv(t)
	cases := []struct {
		name, config string
		setup        func(t *testing.T)
		want         []string
	}{
		{"helper not installed", `{"auths": {}, "credsStore": "fm-missing"}`, nil,
			[]string{`host "a.example.com"`, "docker-credential-fm-missing is not installed", "--plaintext"}},
		{"pass store not initialised", `{"auths": {}, "credsStore": "pass"}`,
			func(t *testing.T) { t.Setenv("PASSWORD_STORE_DIR", t.TempDir()) },
			[]string{`host "a.example.com"`, "docker-credential-pass", "pass init"}},
		{"second helper fails after the first stored", `{"auths": {}, "credsStore": "fm-missing", "credHelpers": {"a.example.com": "pass"}}`, nil,
			[]string{`host "r.example.com"`, "already hold the new pairs of a.example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			dir := t.TempDir()
			writeConfig(t, dir, tc.config, 0o600)
			c := loadDir(t, dir)
			plan, err := c.Plan([]credential.Credential{pair("a.example.com"), pair("r.example.com")}, false)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Apply(context.Background(), plan)
			if err == nil {
				t.Fatal("Apply succeeded")
			}
			for _, w := range append(tc.want, "was not changed") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "pw-") {
				t.Errorf("error shows a password: %v", err)
			}
			if got := string(readConfig(t, dir)); got != tc.config {
				t.Errorf("config.json changed to %s", got)
			}
		})
	}
}

// TestHelperTimeout: a helper that never answers is killed when ctx ends.
// No real helper hangs on demand, so this one is a script that sleeps.
func TestHelperTimeout(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\nsleep 60\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-fm-hang"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":/usr/bin:/bin")
	dir := t.TempDir()
	writeConfig(t, dir, `{"auths": {}, "credsStore": "fm-hang"}`, 0o600)
	c := loadDir(t, dir)
	plan, err := c.Plan([]credential.Credential{pair("r.example.com")}, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Apply(ctx, plan)
	if took := time.Since(start); took > 300*time.Millisecond+helperWaitDelay+2*time.Second {
		t.Errorf("Apply returned after %s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "docker-credential-fm-hang did not finish") {
		t.Fatalf("want a did-not-finish error, got %v", err)
	}
	if got := string(readConfig(t, dir)); got != `{"auths": {}, "credsStore": "fm-hang"}` {
		t.Errorf("config.json changed to %s", got)
	}
}
