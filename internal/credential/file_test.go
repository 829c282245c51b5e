package credential

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/flux-mirror/internal/config"
)

// writeFile writes content at root/rel, creating parent directories.
func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestReadFileConfined(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, outside, "secret", "outside")
	root := filepath.Join(t.TempDir(), "config")
	writeFile(t, root, "token", "inside")
	// Each escape attempt lands on a decoy inside root, which proves where it
	// was resolved.
	writeFile(t, root, "secret", "decoy for ../secret")
	writeFile(t, root, "etc/passwd", "decoy for /etc/passwd")
	writeFile(t, root, filepath.Join(outside, "secret"), "decoy for the absolute symlink")
	symlink(t, filepath.Join(outside, "secret"), filepath.Join(root, "abs-link"))
	rel, err := filepath.Rel(root, filepath.Join(outside, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	symlink(t, rel, filepath.Join(root, "rel-link"))
	// Inside root, the ".." steps of rel stop at root itself.
	writeFile(t, root, strings.TrimLeft(rel, "./"), "decoy for the relative symlink")
	for _, link := range []string{"abs-link", "rel-link"} {
		if got, _ := os.ReadFile(filepath.Join(root, link)); string(got) != "outside" {
			t.Fatalf("%s does not point outside root when followed plainly", link)
		}
	}
	symlink(t, "/etc/passwd", filepath.Join(root, "passwd-link"))

	for _, tc := range []struct{ path, want string }{
		{"token", "inside"},
		{"./sub/../token", "inside"},
		{"../secret", "decoy for ../secret"},
		{"../../../../secret", "decoy for ../secret"},
		{"/etc/passwd", "decoy for /etc/passwd"},
		{"passwd-link", "decoy for /etc/passwd"},
		{"abs-link", "decoy for the absolute symlink"},
		{"rel-link", "decoy for the relative symlink"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := ReadFile(root, tc.path)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("ReadFile(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestReadFileKubernetesDataLayout(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "..2026_11_27_10_00_00.123456789/token", "projected\n")
	symlink(t, "..2026_11_27_10_00_00.123456789", filepath.Join(root, "..data"))
	symlink(t, "..data/token", filepath.Join(root, "token"))
	got, err := ReadFile(root, "token")
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if string(got) != "projected\n" {
		t.Errorf("ReadFile = %q", got)
	}

	// A rotation swaps ..data to a new directory; the next read follows it.
	writeFile(t, root, "..2026_11_27_11_00_00.1/token", "rotated\n")
	if err := os.Remove(filepath.Join(root, "..data")); err != nil {
		t.Fatal(err)
	}
	symlink(t, "..2026_11_27_11_00_00.1", filepath.Join(root, "..data"))
	cred, err := Resolve(context.Background(), root, config.Host{
		Host:       "ghcr.io",
		Credential: &config.Source{FromPath: "token"},
	}, Options{})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if cred.Token != "rotated" {
		t.Errorf("token %q, want the rotated one", cred.Token)
	}
}

func TestReadFileErrors(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "big", strings.Repeat("x", MaxFileSize+1))
	writeFile(t, root, "exact", strings.Repeat("x", MaxFileSize))
	if _, err := ReadFile(root, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := ReadFile(root, "big"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: err = %v", err)
	}
	if data, err := ReadFile(root, "exact"); err != nil || len(data) != MaxFileSize {
		t.Errorf("file of exactly MaxFileSize: %d bytes, err %v", len(data), err)
	}
	if _, err := ReadFile("", "token"); err == nil {
		t.Error("empty root accepted")
	}
}

func TestReadFileRelativeRoot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "conf/token", "relative")
	t.Chdir(dir)
	got, err := ReadFile("conf", "token")
	if err != nil || string(got) != "relative" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
}

func TestFromPath(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "token", "  \n\tfile-token \n")
	writeFile(t, root, "blank", " \n\t\n")
	host := func(path string) config.Host {
		return config.Host{Host: "ghcr.io", Credential: &config.Source{FromPath: path}}
	}
	ctx := context.Background()

	cred, err := Resolve(ctx, root, host("token"), Options{})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	want := Credential{Host: "ghcr.io", Token: "file-token"}
	if cred != want {
		t.Errorf("Resolve = %#v, want token %q and no expiry", cred, want.Token)
	}

	writeFile(t, root, "token", "next-token")
	if cred, _ := Resolve(ctx, root, host("token"), Options{}); cred.Token != "next-token" {
		t.Errorf("second Resolve kept the old token; the file must be re-read")
	}

	_, err = Resolve(ctx, root, host("blank"), Options{})
	if want := `host "ghcr.io": credential.fromPath "blank": file is empty`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("blank file: err = %v, want prefix %q", err, want)
	}

	_, err = Resolve(ctx, root, host("missing"), Options{})
	if err == nil || !errors.Is(err, fs.ErrNotExist) ||
		!strings.HasPrefix(err.Error(), `host "ghcr.io": read credential.fromPath "missing": no such file or directory: `) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestReadFileSaysPathsAreConfined checks that a path that is not found
// is reported as written and as resolved, with the rule that re-rooted
// it, so that "/var/run/token" missing under the config's directory does
// not read as a mystery.
func TestReadFileSaysPathsAreConfined(t *testing.T) {
	root := t.TempDir()
	symlink(t, "/etc/hostname", filepath.Join(root, "host-link"))
	for _, path := range []string{"/var/run/secrets/token", "../../token", "host-link"} {
		_, err := ReadFile(root, path)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: err = %v, want not found", path, err)
		}
		for _, want := range []string{`"` + path + `" was looked up as ` + root, "confined to " + root, `absolute paths, ".." and symlinks are re-rooted there`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err = %q lacks %q", path, err, want)
			}
		}
	}
}
