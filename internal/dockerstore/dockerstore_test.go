package dockerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"

	"github.com/fluxcd/flux-mirror/internal/credential"
)

// richConfig is a config.json with an entry of every kind and settings
// docker keeps; no helper serves r.example.com or localhost:5000.
const richConfig = `{
	"auths": {
		"other.example.com": {"auth": "b3RoZXI6b3RoZXItcHc="},
		"id.example.com": {"identitytoken": "refresh-123"},
		"tok.example.com": {"registrytoken": "bearer-456"},
		"r.example.com": {"auth": "b2xkOm9sZC1wdw=="}
	},
	"credHelpers": {"gcr.io": "gcloud"},
	"HttpHeaders": {"X-Meta": "kept"},
	"psFormat": "table {{.ID}}",
	"imagesFormat": "table {{.Repository}}",
	"detachKeys": "ctrl-x",
	"proxies": {"default": {"httpProxy": "http://proxy.invalid:3128", "noProxy": "localhost"}},
	"currentContext": "remote",
	"cliPluginsExtraDirs": ["/opt/docker-plugins"],
	"plugins": {"buildx": {"opt": "val"}},
	"aliases": {"builder": "buildx"},
	"features": {"hooks": "true"}
}`

// emptyPath makes exec.LookPath find no credential helper, so that no
// default helper is adopted.
func emptyPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
}

func loadDir(t *testing.T, dir string) *Config {
	t.Helper()
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func apply(t *testing.T, c *Config, plaintext bool, creds ...credential.Credential) []Placement {
	t.Helper()
	plan, err := c.Plan(creds, plaintext)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(context.Background(), plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestApplyMatchesDockersOwnStore stores a pair and a bearer token into a
// config.json with entries and settings of every kind, and compares the
// result byte for byte with what docker's own file store writes for the
// same credentials: other entries and docker's settings survive, exactly
// as with docker login.
func TestApplyMatchesDockersOwnStore(t *testing.T) {
	emptyPath(t)
	ours, theirs := t.TempDir(), t.TempDir()
	for _, d := range []string{ours, theirs} {
		writeConfig(t, d, richConfig, 0o600)
	}
	creds := []credential.Credential{pair("r.example.com"), bearer("localhost:5000")}
	apply(t, loadDir(t, ours), false, creds...)

	f, err := config.Load(theirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, ac := range []types.AuthConfig{
		{ServerAddress: "r.example.com", Username: "robot", Password: "pw-r.example.com"},
		{ServerAddress: "localhost:5000", RegistryToken: "tok-localhost:5000"},
	} {
		if err := f.GetCredentialsStore(ac.ServerAddress).Store(ac); err != nil {
			t.Fatal(err)
		}
	}
	got, want := readConfig(t, ours), readConfig(t, theirs)
	if !bytes.Equal(got, want) {
		t.Fatalf("config.json differs from docker's own store:\nours:\n%s\ndocker's:\n%s", got, want)
	}
	for _, kept := range []string{`"other.example.com"`, `"identitytoken": "refresh-123"`, `"registrytoken": "bearer-456"`,
		`"gcr.io": "gcloud"`, `"X-Meta": "kept"`, `"psFormat"`, `"proxies"`, `"currentContext": "remote"`, `"features"`} {
		if !bytes.Contains(got, []byte(kept)) {
			t.Errorf("config.json lost %s:\n%s", kept, got)
		}
	}
	// Read back with docker's lookup code, as docker and crane do.
	back, err := config.Load(ours)
	if err != nil {
		t.Fatal(err)
	}
	if ac, _ := back.GetAuthConfig("r.example.com"); ac.Username != "robot" || ac.Password != "pw-r.example.com" {
		t.Errorf("docker reads r.example.com as %q/%q", ac.Username, ac.Password)
	}
	if ac, _ := back.GetAuthConfig("localhost:5000"); ac.RegistryToken != "tok-localhost:5000" || ac.Username != "" {
		t.Errorf("docker reads localhost:5000 as %+v", ac)
	}
	if bytes.Contains(got, []byte(`"password"`)) {
		t.Errorf("the pair was written with a plain password field:\n%s", got)
	}
}

func TestDockerHubUnderDockersKey(t *testing.T) {
	emptyPath(t)
	dir := t.TempDir()
	apply(t, loadDir(t, dir), false, pair("docker.io"))
	back, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// docker resolves "docker.io" to its historical key itself.
	if ac, _ := back.GetAuthConfig("docker.io"); ac.Username != "robot" {
		t.Errorf("docker finds no Docker Hub credential: %+v\n%s", ac, readConfig(t, dir))
	}
	if _, ok := back.AuthConfigs["https://index.docker.io/v1/"]; !ok || len(back.AuthConfigs) != 1 {
		t.Errorf("auths keys = %v", keysOf(back.AuthConfigs))
	}
}

// TestMalformedConfigIsLeftAlone: a config.json docker cannot parse is an
// error before anything is planned, and its bytes stay as they were.
func TestMalformedConfigIsLeftAlone(t *testing.T) {
	cases := map[string]string{
		"not JSON":           `{"auths": {"r.example.com": {"auth": "x"}`,
		"auth not base64":    `{"auths": {"r.example.com": {"auth": "%%%"}}}`,
		"auth without colon": `{"auths": {"r.example.com": {"auth": "bm9jb2xvbg=="}}}`,
		"wrong type":         `{"auths": ["r.example.com"]}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, content, 0o644)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "config.json")) || !strings.Contains(err.Error(), "not changed") {
				t.Fatalf("want an error naming the file and saying it was not changed, got %v", err)
			}
			if got := readConfig(t, dir); string(got) != content {
				t.Errorf("config.json changed to %q", got)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("the directory holds %d files, want only config.json", len(entries))
			}
		})
	}
}

func TestFileModes(t *testing.T) {
	emptyPath(t)
	t.Run("new file 0600 in a new 0700 directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "docker")
		apply(t, loadDir(t, dir), false, pair("r.example.com"))
		wantMode(t, dir, 0o700|os.ModeDir)
		wantMode(t, filepath.Join(dir, "config.json"), 0o600)
	})
	for _, mode := range []os.FileMode{0o644, 0o640, 0o600} {
		t.Run("existing "+mode.String()+" kept", func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, `{"auths": {}}`, mode)
			apply(t, loadDir(t, dir), false, pair("r.example.com"))
			wantMode(t, filepath.Join(dir, "config.json"), mode)
		})
	}
	t.Run("symlinked config.json written through", func(t *testing.T) {
		dir, real := t.TempDir(), t.TempDir()
		writeConfig(t, real, `{"auths": {}}`, 0o640)
		link := filepath.Join(dir, "config.json")
		if err := os.Symlink(filepath.Join(real, "config.json"), link); err != nil {
			t.Fatal(err)
		}
		apply(t, loadDir(t, dir), false, pair("r.example.com"))
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("config.json is no longer a symlink: %v", err)
		}
		if !bytes.Contains(readConfig(t, real), []byte("r.example.com")) {
			t.Error("the symlink's target was not updated")
		}
		wantMode(t, filepath.Join(real, "config.json"), 0o640)
	})
}

// TestSaveIsAtomic checks the property login relies on instead of writing
// the file itself: docker's Save writes a new file and renames it over
// config.json (a new inode; the old file is never written into), so a reader
// running alongside many saves only ever sees a complete file, and no
// temporary file is left behind.
func TestSaveIsAtomic(t *testing.T) {
	emptyPath(t)
	dir := t.TempDir()
	writeConfig(t, dir, `{"auths": {}}`, 0o600)
	path := filepath.Join(dir, "config.json")
	// Holding the original open keeps its inode from being reused, and
	// lets us see whether anything wrote into it.
	orig, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()

	// A big file makes a torn write visible if there ever was one.
	var creds []credential.Credential
	for i := range 400 {
		creds = append(creds, pair(fmt.Sprintf("%s-%03d.example.com", strings.Repeat("x", 40), i)))
	}
	done := make(chan struct{})
	bad := make(chan string, 1)
	go func() {
		defer close(bad)
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(path)
			if err == nil && !json.Valid(b) {
				bad <- string(b)
				return
			}
		}
	}()
	for range 30 {
		apply(t, loadDir(t, dir), false, creds...)
	}
	close(done)
	if torn, ok := <-bad; ok {
		t.Fatalf("a reader saw an incomplete config.json (%d bytes)", len(torn))
	}
	fi, err := orig.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if inode(t, path) == fi.Sys().(*syscall.Stat_t).Ino {
		t.Error("config.json kept its inode: it was rewritten in place, not replaced")
	}
	if b, err := io.ReadAll(orig); err != nil || string(b) != `{"auths": {}}` {
		t.Errorf("the original file was written into: %q (%v)", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d files, want only config.json", len(entries))
	}
}

func TestDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	if d, _ := Dir(""); d != filepath.Join(home, ".docker") {
		t.Errorf("default = %q", d)
	}
	t.Setenv("DOCKER_CONFIG", "/env/docker")
	if d, _ := Dir(""); d != "/env/docker" {
		t.Errorf("with $DOCKER_CONFIG = %q", d)
	}
	if d, _ := Dir("/flag/docker"); d != "/flag/docker" {
		t.Errorf("with the flag = %q", d)
	}
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("HOME", "")
	if _, err := Dir(""); err == nil || !strings.Contains(err.Error(), "--docker-config") {
		t.Errorf("without HOME: %v", err)
	}
}

func writeConfig(t *testing.T, dir, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func readConfig(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Errorf("%s has mode %s, want %s", path, got, want)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
