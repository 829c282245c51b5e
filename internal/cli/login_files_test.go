package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// wantUnchanged fails unless config.json in dir still holds exactly want.
func wantUnchanged(t *testing.T, dir, want string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, "config.json"))
	must(t, err)
	if string(got) != want {
		t.Errorf("config.json changed:\n%s\nwant:\n%s", got, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the Docker config directory holds %d files, want only config.json", len(entries))
	}
}

// wantFailure fails unless the run failed with one ✗ line holding want.
func wantFailure(t *testing.T, r result, want ...string) {
	t.Helper()
	lines := failureLines(r.stderr)
	if r.err == nil || len(lines) != 1 {
		t.Fatalf("want one ✗ line, got err=%v:\n%s", r.err, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("the ✗ line lacks %q: %s", w, lines[0])
		}
	}
}

// TestLoginFailingHostStoresNothing: every credential is minted before
// anything is stored, so a host that fails leaves config.json as it was
// and the helper without the other host's pair.
func TestLoginFailingHostStoresNothing(t *testing.T) {
	isolate(t, true)
	pass := testenv.StartPass(t)
	pass.SetEnv(t)
	docker := t.TempDir()
	existing := `{"auths":{"keep.example.com":{"auth":"a2VlcDprZWVw"}},"credsStore":"pass"}`
	must(t, os.WriteFile(filepath.Join(docker, "config.json"), []byte(existing), 0o600))
	t.Setenv("LOGIN_TEST_PASSWORD", randomSecret(t, "good-host-password"))
	cfg := mirrorConfig(t, "- host: good.example.com\n  username: robot\n  credential:\n    value: ${LOGIN_TEST_PASSWORD}\n"+
		"- host: bad.example.com\n  credential:\n    fromPath: missing-token\n")

	r := run(t, nil, "login", "-f", cfg, "--docker-config", docker)
	wantFailure(t, r, `host "bad.example.com"`)
	if strings.Contains(r.stderr, "► storing") {
		t.Errorf("login started storing:\n%s", r.stderr)
	}
	wantUnchanged(t, docker, existing)
	if list := pass.HelperOutput(t, "list", ""); strings.TrimSpace(list) != "{}" {
		t.Errorf("the helper holds %s", list)
	}
}

// TestLoginAdoptedHelperNotSetUp: on a fresh Docker config login adopts
// docker-credential-pass as docker would; when pass has no store yet, the
// error says so and how to proceed, and no config.json appears.
func TestLoginAdoptedHelperNotSetUp(t *testing.T) {
	isolate(t, true)
	t.Setenv("PASSWORD_STORE_DIR", t.TempDir())
	t.Setenv("GNUPGHOME", t.TempDir())
	t.Setenv("LOGIN_TEST_PASSWORD", randomSecret(t, "adopted-password"))
	cfg := mirrorConfig(t, "- host: r.example.com\n  username: robot\n  credential:\n    value: ${LOGIN_TEST_PASSWORD}\n")
	docker := t.TempDir()
	r := run(t, nil, "login", "-f", cfg, "--docker-config", docker)
	wantFailure(t, r, `host "r.example.com"`, "docker-credential-pass", "pass init", "was not changed",
		"platform's default helper", "--plaintext")
	if _, err := os.Stat(filepath.Join(docker, "config.json")); !os.IsNotExist(err) {
		t.Errorf("config.json was written: %v", err)
	}
}

// TestLoginMalformedDockerConfig: a config.json docker cannot parse is an
// error before any credential is minted (the FIFO token would block until
// --timeout), and its bytes stay as they were.
func TestLoginMalformedDockerConfig(t *testing.T) {
	isolate(t, false)
	cfg, _ := slowConfig(t)
	for name, content := range map[string]string{
		"truncated JSON":      `{"auths": {"r.example.com": {"auth": "cjpw"}`,
		"auth not user:pw":    `{"auths": {"r.example.com": {"auth": "bm9jb2xvbg=="}}, "psFormat": "x"}`,
		"auths not an object": `{"auths": []}`,
	} {
		t.Run(name, func(t *testing.T) {
			docker := t.TempDir()
			must(t, os.WriteFile(filepath.Join(docker, "config.json"), []byte(content), 0o644))
			r := run(t, nil, "login", "-f", cfg, "--docker-config", docker, "--timeout", "30s")
			wantFailure(t, r, filepath.Join(docker, "config.json"), "was not changed")
			if strings.Contains(r.stderr, "minting") || strings.Contains(r.stderr, "timed out") {
				t.Errorf("login minted before checking the Docker config:\n%s", r.stderr)
			}
			wantUnchanged(t, docker, content)
		})
	}
}

// TestLoginKeepsWhatOthersSavedWhileMinting: an entry another program
// (docker login) saves while login waits for a token survives, because
// login reads the Docker config again once everything is minted.
func TestLoginKeepsWhatOthersSavedWhileMinting(t *testing.T) {
	isolate(t, false)
	cfg, fifo := slowConfig(t)
	docker := t.TempDir()
	path := filepath.Join(docker, "config.json")
	must(t, os.WriteFile(path, []byte(`{"auths":{}}`), 0o600))

	done := make(chan result, 1)
	go func() { done <- run(t, nil, "login", "-f", cfg, "--docker-config", docker, "--timeout", "60s") }()
	// The FIFO opens for writing without blocking only once login reads it.
	var w *os.File
	for i := 0; w == nil; i++ {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		switch {
		case err == nil:
			w = f
		case i > 3000:
			t.Fatalf("login never read the token: %v", err)
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	must(t, os.WriteFile(path, []byte(`{"auths":{"meanwhile.example.com":{"auth":"bWU6YW53aGlsZQ=="}}}`), 0o600))
	token := randomSecret(t, "slow-token")
	_, err := w.WriteString(token)
	must(t, err)
	must(t, w.Close())

	r := <-done
	if r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}
	raw, auths := rawAuths(t, docker)
	if auths["meanwhile.example.com"]["auth"] != "bWU6YW53aGlsZQ==" || auths["slow.example.com"]["registrytoken"] != token {
		t.Errorf("config.json:\n%s", raw)
	}
}

// TestLoginTimeout: --timeout bounds minting; nothing is stored.
func TestLoginTimeout(t *testing.T) {
	isolate(t, false)
	cfg, _ := slowConfig(t)
	docker := t.TempDir()
	r := run(t, nil, "login", "-f", cfg, "--docker-config", docker, "--timeout", "500ms")
	wantFailure(t, r, "timed out after 500ms", "slow.example.com")
	if _, err := os.Stat(filepath.Join(docker, "config.json")); !os.IsNotExist(err) {
		t.Errorf("config.json was written: %v", err)
	}
}

// TestLoginPlaintextWhereAHelperServes: --plaintext puts the pair in the
// file and warns, naming the helper, that readers ask the helper first;
// crane, with the helper holding nothing, indeed finds no credential. The
// pair of a host no helper serves goes to the file with the unencrypted
// warning, and credHelpers routes per host.
func TestLoginPlaintextWhereAHelperServes(t *testing.T) {
	isolate(t, true)
	reg, password, ref, digest := htpasswdRegistry(t)
	pass := testenv.StartPass(t)
	pass.SetEnv(t)
	t.Setenv("LOGIN_TEST_PASSWORD", password)
	cfg := mirrorConfig(t, "- host: "+reg.Host+"\n  username: robot\n  credential:\n    value: ${LOGIN_TEST_PASSWORD}\n"+
		"- host: other.example.com\n  username: robot\n  credential:\n    value: ${LOGIN_TEST_PASSWORD}\n")
	docker := t.TempDir()
	path := filepath.Join(docker, "config.json")
	must(t, os.WriteFile(path, []byte(`{"auths":{},"credHelpers":{"`+reg.Host+`":"pass"}}`), 0o600))

	r := login(t, "-f", cfg, "--docker-config", docker, "--plaintext")
	wantLines(t, r.stderr,
		"⚠️ --plaintext: docker-credential-pass serves "+reg.Host+` (credHelpers["`+reg.Host+`"]), and docker, crane, oras and helm ask it first and never read the entry written to `+path,
		"⚠️ --plaintext: the password of other.example.com is stored unencrypted (base64) in "+path+"\n",
		"• "+reg.Host+`: username "robot" and password stored in `+path)
	_, auths := rawAuths(t, docker)
	if auths[reg.Host]["auth"] == "" || auths["other.example.com"]["auth"] == "" {
		t.Errorf("auths = %v", auths)
	}
	refused(t, "crane", docker, pass.Env(), ref)

	// Without --plaintext the same config routes per host.
	r = login(t, "-f", cfg, "--docker-config", docker)
	wantLines(t, r.stderr,
		"• "+reg.Host+`: username "robot" and password stored by credential helper docker-credential-pass (credHelpers["`+reg.Host+`"])`,
		"• other.example.com: username \"robot\" and password stored in "+path,
		"⚠️ the password of other.example.com is stored unencrypted (base64) in "+path+": configure a credential helper")
	raw, auths := rawAuths(t, docker)
	if len(auths[reg.Host]) != 0 || strings.Contains(raw, `"credsStore"`) {
		t.Errorf("config.json:\n%s", raw)
	}
	pullWith(t, docker, pass.Env(), ref, digest, "crane")
}

// TestLoginDockerConfigLocation: --docker-config, else $DOCKER_CONFIG,
// else ~/.docker.
func TestLoginDockerConfigLocation(t *testing.T) {
	home := isolate(t, false)
	t.Setenv("LOGIN_TEST_PASSWORD", randomSecret(t, "location-password"))
	cfg := mirrorConfig(t, "- host: r.example.com\n  username: robot\n  credential:\n    value: ${LOGIN_TEST_PASSWORD}\n")
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "config.json"))
		return err == nil
	}

	login(t, "-f", cfg)
	if !has(filepath.Join(home, ".docker")) {
		t.Error("no ~/.docker/config.json")
	}
	env := t.TempDir()
	t.Setenv("DOCKER_CONFIG", env)
	login(t, "-f", cfg)
	if !has(env) {
		t.Error("$DOCKER_CONFIG was not used")
	}
	flag := t.TempDir()
	login(t, "-f", cfg, "--docker-config", flag)
	if !has(flag) {
		t.Error("--docker-config was not used")
	}
}

// TestLoginDockerHubKey: Docker Hub is stored under the key docker uses,
// and go-containerregistry's keychain (crane's and Flux's) finds it there.
func TestLoginDockerHubKey(t *testing.T) {
	isolate(t, false)
	password := randomSecret(t, "hub-password")
	t.Setenv("LOGIN_TEST_PASSWORD", password)
	cfg := mirrorConfig(t, "- host: docker.io\n  username: hubuser\n  credential:\n    value: ${LOGIN_TEST_PASSWORD}\n")
	docker := t.TempDir()
	login(t, "-f", cfg, "--docker-config", docker)
	_, auths := rawAuths(t, docker)
	if _, ok := auths["https://index.docker.io/v1/"]; !ok || len(auths) != 1 {
		t.Fatalf("auths keys: %v", keys(auths))
	}
	for _, name := range []string{"docker.io", "index.docker.io"} {
		out, err := testenv.RunClient(t, testenv.Tool(t, "crane"), docker, nil, "auth", "get", name)
		var got struct{ Username, Secret string }
		if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.Username != "hubuser" || got.Secret != password {
			t.Errorf("crane auth get %s: username %q, right secret %v (%v)", name, got.Username, got.Secret == password, err)
		}
	}
}

// TestLoginBadSelection: an unknown --host and a selection with nothing to
// store are errors, and config.json stays as it was.
func TestLoginBadSelection(t *testing.T) {
	isolate(t, false)
	docker := t.TempDir()
	existing := `{"auths":{"keep.example.com":{"auth":"a2VlcDprZWVw"}}}`
	must(t, os.WriteFile(filepath.Join(docker, "config.json"), []byte(existing), 0o600))
	cfg := mirrorConfig(t, "- host: r.example.com\n  credential:\n    value: x\n- host: tls.example.com\n  maxChunkSize: 1\n")
	r := run(t, nil, "login", "-f", cfg, "--docker-config", docker, "--host", "nope.example.com")
	wantFailure(t, r, `--host "nope.example.com": not in the config's hosts (it has r.example.com, tls.example.com)`)
	r = run(t, nil, "login", "-f", cfg, "--docker-config", docker, "--host", "tls.example.com")
	wantFailure(t, r, "no selected host has a credential or provider: nothing to write, the Docker config is left as it is")
	wantLines(t, r.stderr, "• skipping tls.example.com:")
	wantUnchanged(t, docker, existing)
}
