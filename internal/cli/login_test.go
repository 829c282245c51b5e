package cli

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// isolate points HOME at a new directory and unsets DOCKER_CONFIG, so that
// no test reads or writes a real Docker config. With helpers, PATH holds
// the Debian credential helpers (and pass, so docker's default helper
// detection finds it); without, PATH is empty and no helper is found.
func isolate(t *testing.T, helpers bool) (home string) {
	t.Helper()
	home = t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	os.Unsetenv("DOCKER_CONFIG")
	if helpers {
		t.Setenv("PATH", "/usr/bin:/bin")
	} else {
		t.Setenv("PATH", t.TempDir())
	}
	return home
}

// randomSecret returns a fresh value registered with the leak check.
func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	s := prefix + "-" + hex.EncodeToString(b)
	noteSecret(s, prefix)
	return s
}

// mirrorConfig writes a flux-mirror config with the given hosts section
// into a new directory and returns its path.
func mirrorConfig(t *testing.T, hosts string) string {
	t.Helper()
	dir := t.TempDir()
	return writeFile(t, dir, "mirror.yaml", header+"hosts:\n"+hosts)
}

// login runs the login command and fails the test if it fails.
func login(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, nil, append([]string{"login"}, args...)...)
	if r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("login printed on stdout: %q", r.stdout)
	}
	return r
}

// wantLines fails unless stderr holds every line fragment.
func wantLines(t *testing.T, stderr string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}

// rawAuths reads config.json in dir as plain JSON.
func rawAuths(t *testing.T, dir string) (raw string, auths map[string]map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	must(t, err)
	var f struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	must(t, json.Unmarshal(b, &f))
	return string(b), f.Auths
}

// pullWith pulls ref with crane and copies it with oras, each reading only
// the Docker config in dockerCfg (and the helper env), and checks both got
// the image with digest.
func pullWith(t *testing.T, dockerCfg string, env []string, ref, digest string, clients ...string) {
	t.Helper()
	for _, c := range clients {
		switch c {
		case "crane":
			crane := testenv.Tool(t, "crane")
			out, err := testenv.RunClient(t, crane, dockerCfg, env, "pull", ref, filepath.Join(t.TempDir(), "image.tar"))
			if err != nil {
				t.Errorf("crane pull %s: %v\n%s", ref, err, out)
				continue
			}
			if out, err := testenv.RunClient(t, crane, dockerCfg, env, "digest", ref); err != nil || strings.TrimSpace(out) != digest {
				t.Errorf("crane digest %s = %q (%v), want %s", ref, out, err, digest)
			}
		case "oras":
			layout := filepath.Join(t.TempDir(), "layout")
			out, err := testenv.RunClient(t, testenv.Tool(t, "oras"), dockerCfg, env,
				"cp", "--from-plain-http", ref, "--to-oci-layout", layout+":copied")
			if err != nil {
				t.Errorf("oras cp %s: %v\n%s", ref, err, out)
				continue
			}
			index, err := os.ReadFile(filepath.Join(layout, "index.json"))
			if err != nil || !strings.Contains(string(index), digest) {
				t.Errorf("oras's OCI layout lacks %s (%v): %s", digest, err, index)
			}
		}
	}
}

// refused fails unless the client cannot pull ref with dockerCfg.
func refused(t *testing.T, client, dockerCfg string, env []string, ref string) string {
	t.Helper()
	var out string
	var err error
	switch client {
	case "crane":
		out, err = testenv.RunClient(t, testenv.Tool(t, "crane"), dockerCfg, env, "digest", ref)
	case "oras":
		out, err = testenv.RunClient(t, testenv.Tool(t, "oras"), dockerCfg, env, "manifest", "fetch", "--plain-http", ref)
	}
	if err == nil {
		t.Fatalf("%s reached %s: %s", client, ref, out)
	}
	// 401, or (token registries) a trip to the realm for a token that an
	// accepted credential would have made unnecessary.
	lower := strings.ToLower(out)
	if !strings.Contains(lower, "unauthorized") && !strings.Contains(lower, "401") && !strings.Contains(lower, "/token?") {
		t.Fatalf("%s failed on %s, but not for lack of credentials: %s", client, ref, out)
	}
	return out
}

// htpasswdRegistry starts a registry for user robot with a fresh password
// and pushes the test image to it, returning the password, the image
// reference and its digest.
func htpasswdRegistry(t *testing.T) (reg *testenv.Registry, password, ref, digest string) {
	t.Helper()
	password = randomSecret(t, "htpasswd-password")
	reg = testenv.StartHtpasswdRegistry(t, "robot", password)
	ref = reg.Host + "/demo/hello:v1"
	admin := testenv.DockerConfigWith(t, map[string]map[string]string{reg.Host: testenv.BasicAuth("robot", password)})
	digest = testenv.PushTestImage(t, ref, admin)
	return reg, password, ref, digest
}

// TestLoginFileStoreCraneOras: with no credential helper, login writes the
// pair into an existing config.json (its entries, settings and mode kept),
// and crane and oras pull from the htpasswd registry with it alone.
func TestLoginFileStoreCraneOras(t *testing.T) {
	isolate(t, false)
	reg, password, ref, digest := htpasswdRegistry(t)
	docker := t.TempDir()
	refused(t, "crane", docker, nil, ref)

	existing := `{"auths":{"other.example.com":{"auth":"b3RoZXI6cHc="}},"proxies":{"default":{"noProxy":"localhost"}},"psFormat":"table {{.ID}}"}`
	must(t, os.WriteFile(filepath.Join(docker, "config.json"), []byte(existing), 0o640))
	t.Setenv("LOGIN_TEST_PASSWORD", password)
	cfg := mirrorConfig(t, "- host: "+reg.Host+"\n  username: robot\n  credential:\n    value: ${LOGIN_TEST_PASSWORD}\n")

	var r result
	dockerWarning := captureStderr(t, func() { r = login(t, "-f", cfg, "--docker-config", docker) })
	if dockerWarning != "" {
		t.Errorf("docker's library printed on stderr: %q", dockerWarning)
	}
	path := filepath.Join(docker, "config.json")
	wantLines(t, r.stderr,
		"► minting credentials for 1 host\n",
		"• "+reg.Host+`: username "robot" and password, expiry unknown`,
		"► storing 1 credential in the Docker config "+path+"\n",
		"• "+reg.Host+`: username "robot" and password stored in `+path+"\n",
		"⚠️ the password of "+reg.Host+" is stored unencrypted (base64) in "+path+": configure a credential helper",
		"✔ Docker config "+path+" updated (1 host)\n")

	raw, auths := rawAuths(t, docker)
	if auths[reg.Host]["auth"] == "" || auths["other.example.com"]["auth"] != "b3RoZXI6cHc=" {
		t.Errorf("config.json:\n%s", raw)
	}
	for _, kept := range []string{`"proxies"`, `"noProxy": "localhost"`, `"psFormat": "table {{.ID}}"`} {
		if !strings.Contains(raw, kept) {
			t.Errorf("config.json lost %s:\n%s", kept, raw)
		}
	}
	fi, err := os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("config.json mode %s, want the existing 0640 kept", fi.Mode().Perm())
	}
	pullWith(t, docker, nil, ref, digest, "crane", "oras")
}

// TestLoginPassHelperCraneOras: on a fresh Docker config with pass
// installed, login adopts docker-credential-pass as docker does; pass holds
// the pair, config.json holds no password, and crane and oras pull with
// that config and the helper.
func TestLoginPassHelperCraneOras(t *testing.T) {
	isolate(t, true)
	reg, password, ref, digest := htpasswdRegistry(t)
	pass := testenv.StartPass(t)
	pass.SetEnv(t)
	docker := filepath.Join(t.TempDir(), "docker")
	t.Setenv("LOGIN_TEST_PASSWORD", password)
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", headerV2+"hosts:\n- host: "+reg.Host+"\n  credential:\n    type: jwt\n    username: robot\n    value: ${LOGIN_TEST_PASSWORD}\n")

	r := login(t, "-f", cfg, "--docker-config", docker)
	wantLines(t, r.stderr,
		"• using credential helper docker-credential-pass as credsStore: the Docker config had no credentials yet",
		"• "+reg.Host+`: username "robot" and password stored by credential helper docker-credential-pass (credsStore)`,
		"✔ Docker config "+filepath.Join(docker, "config.json")+" updated (1 host)")
	if strings.Contains(r.stderr, "⚠️") {
		t.Errorf("unexpected warning:\n%s", r.stderr)
	}

	if list := pass.HelperOutput(t, "list", ""); !strings.Contains(list, `"`+reg.Host+`":"robot"`) {
		t.Errorf("docker-credential-pass list = %s", list)
	}
	var got struct{ Username, Secret string }
	must(t, json.Unmarshal([]byte(pass.HelperOutput(t, "get", reg.Host)), &got))
	if got.Username != "robot" || got.Secret != password {
		t.Errorf("docker-credential-pass get: username %q, right password %v", got.Username, got.Secret == password)
	}
	raw, auths := rawAuths(t, docker)
	if e, ok := auths[reg.Host]; !ok || len(e) != 0 || strings.Contains(raw, password) || !strings.Contains(raw, `"credsStore": "pass"`) {
		t.Errorf("config.json should name pass and hold an empty entry for the host:\n%s", raw)
	}
	fi, err := os.Stat(filepath.Join(docker, "config.json"))
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new config.json has mode %s, want 0600", fi.Mode().Perm())
	}
	pullWith(t, docker, pass.Env(), ref, digest, "crane", "oras")

	// Without the pass store the clients have nothing: the file alone does
	// not carry the credential.
	refused(t, "crane", docker, []string{"PASSWORD_STORE_DIR=" + t.TempDir(), "GNUPGHOME=" + pass.GNUPGHOME}, ref)
}

// captureStderr runs f with os.Stderr redirected and returns what was
// written there; the command's own output goes to its buffers, so this
// only catches libraries writing to the process's stderr.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	must(t, err)
	saved := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b := make([]byte, 0, 1024)
		buf := make([]byte, 1024)
		for {
			n, err := r.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				done <- string(b)
				return
			}
		}
	}()
	defer func() {
		os.Stderr = saved
	}()
	f()
	os.Stderr = saved
	w.Close()
	out := <-done
	r.Close()
	transcript.Lock()
	transcript.outputs = append(transcript.outputs, out)
	transcript.Unlock()
	return out
}
