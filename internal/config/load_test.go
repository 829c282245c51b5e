package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeExecutable makes bin/flux-mirror and a plugins/flux-mirror symlink to
// it, the way a Flux plugin directory may, and returns both paths.
func fakeExecutable(t *testing.T) (real, link string) {
	t.Helper()
	dir := t.TempDir()
	real = filepath.Join(dir, "bin", "flux-mirror")
	link = filepath.Join(dir, "plugins", "flux-mirror")
	for _, d := range []string{filepath.Dir(real), filepath.Dir(link)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(real, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "bin", "flux-mirror"), link); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(real)
	if err != nil {
		t.Fatal(err)
	}
	return real, link
}

func TestResolvePath(t *testing.T) {
	real, link := fakeExecutable(t)
	exe := func() (string, error) { return link, nil }
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"flag first", Options{Path: "flag.yaml", LookupEnv: env{EnvConfigPath: "env.yaml"}.lookup, Executable: exe}, "flag.yaml"},
		{"stdin flag", Options{Path: Stdin, LookupEnv: env{EnvConfigPath: "env.yaml"}.lookup, Executable: exe}, Stdin},
		{"then the environment", Options{LookupEnv: env{EnvConfigPath: "env.yaml"}.lookup, Executable: exe}, "env.yaml"},
		{"empty environment is unset", Options{LookupEnv: env{EnvConfigPath: ""}.lookup, Executable: exe}, real + ".config"},
		{"then the real executable", Options{LookupEnv: env{}.lookup, Executable: exe}, real + ".config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := resolvePath(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("no executable", func(t *testing.T) {
		_, _, err := resolvePath(Options{LookupEnv: env{}.lookup, Executable: func() (string, error) {
			return "", errors.New("unknown")
		}})
		wantError(t, err, "find the default config next to the executable (pass -f/--config or set $FLUX_MIRROR_CONFIG): unknown")
	})
	t.Run("defaults", func(t *testing.T) {
		t.Setenv(EnvConfigPath, "from-env.yaml")
		if got, _, err := resolvePath(Options{}); err != nil || got != "from-env.yaml" {
			t.Errorf("got %q, %v", got, err)
		}
	})
}

func TestLoadMissingFileSaysWhereThePathCameFrom(t *testing.T) {
	_, link := fakeExecutable(t)
	missing := filepath.Join(t.TempDir(), "mirror.yaml")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"flag", Options{Path: missing}, `config "` + missing + `" does not exist (path from -f/--config)`},
		{"environment", Options{LookupEnv: env{EnvConfigPath: missing}.lookup},
			`config "` + missing + `" does not exist (path from $FLUX_MIRROR_CONFIG)`},
		{"executable", Options{LookupEnv: env{}.lookup, Executable: func() (string, error) { return link, nil }},
			`.config" does not exist (the default path next to the executable: pass -f/--config or set $FLUX_MIRROR_CONFIG)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts)
			wantError(t, err, tt.want)
		})
	}
}

func TestLoadFile(t *testing.T) {
	loaded, err := Load(Options{Path: "testdata/full.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	wantRoot, _ := filepath.Abs("testdata")
	if loaded.Path != "testdata/full.yaml" || loaded.Root != wantRoot {
		t.Errorf("path %q, root %q, want root %q", loaded.Path, loaded.Root, wantRoot)
	}
	if len(loaded.Config.Charts) != 1 {
		t.Errorf("charts = %+v", loaded.Config.Charts)
	}
}

func TestLoadErrorsNameTheConfig(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown field", Options{Path: "testdata/misspelt.yaml"},
			`config "testdata/misspelt.yaml": line 9: hosts[2].credentail: unknown field (did you mean "credential"?)`},
		{"duplicate key", Options{Path: "testdata/duplicate-key.yaml"},
			`config "testdata/duplicate-key.yaml": line 7: hosts[0].host: duplicate key`},
		{"validation", Options{Path: Stdin, Stdin: strings.NewReader(hostsDoc("{host: a.io}"))},
			"config from stdin: line 4: hosts[0]: set at least one of credential, provider, tls, maxChunkSize"},
		{"unset variable", Options{Path: "testdata/hosts-only.yaml", LookupEnv: env{}.lookup},
			`config "testdata/hosts-only.yaml": line 6: environment variable GHCR_TOKEN is not set`},
		{"a directory", Options{Path: "testdata"}, `config "testdata": read testdata: is a directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts)
			wantError(t, err, tt.want)
		})
	}
}

// TestLoadValidationLines checks that a validation problem points at the
// field's line, or at its closest parent's when the field is missing.
func TestLoadValidationLines(t *testing.T) {
	doc := header + `hosts:
  - host: gcr.io
    provider: gar
  - username: u
    credential:
      value: x
      iss: i
artifacts:
  - source: a.io/x
    destination: b.io/x
`
	_, err := Load(Options{Path: Stdin, Stdin: strings.NewReader(doc), NoEnvsubst: true})
	want := "config from stdin: " + strings.Join([]string{
		"line 6: hosts[1].host: required",
		"line 9: hosts[1].credential.iss: only allowed with jwkPath or jwkValue, not with value",
		"line 11: artifacts[0].selector: required",
	}, "; ")
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestLoadStdin(t *testing.T) {
	loaded, err := Load(Options{
		Path:      Stdin,
		Stdin:     strings.NewReader(string(readTestdata(t, "hosts-only.yaml"))),
		LookupEnv: env{"GHCR_TOKEN": "t"}.lookup,
	})
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Path != Stdin || loaded.Root != wd {
		t.Errorf("path %q, root %q, want %q and %q", loaded.Path, loaded.Root, Stdin, wd)
	}
	if got := *loaded.Config.Hosts[0].Credential.Value; got != "t" {
		t.Errorf("value = %q", got)
	}
}

// TestLoadKubernetesVolume loads a config the way a ConfigMap or projected
// volume mounts it: the visible file is a symlink through ..data into a
// timestamped directory. Root must stay the mount directory, where the
// sibling files (such as a projected token) are visible under their names.
func TestLoadKubernetesVolume(t *testing.T) {
	mount := t.TempDir()
	stamped := filepath.Join(mount, "..2026_11_27_08_36_00.123456789")
	if err := os.Mkdir(stamped, 0o755); err != nil {
		t.Fatal(err)
	}
	doc := hostsDoc("{host: registry.example.com, credential: {fromPath: registry-token}}")
	for name, data := range map[string]string{"mirror.yaml": doc, "registry-token": "token"} {
		if err := os.WriteFile(filepath.Join(stamped, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(stamped), filepath.Join(mount, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mirror.yaml", "registry-token"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(mount, name)); err != nil {
			t.Fatal(err)
		}
	}

	loaded, err := Load(Options{Path: filepath.Join(mount, "mirror.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Root != mount {
		t.Errorf("root = %q, want the mount %q", loaded.Root, mount)
	}
	if _, err := os.Stat(filepath.Join(loaded.Root, loaded.Config.Hosts[0].Credential.FromPath)); err != nil {
		t.Errorf("the token is not visible from the root: %v", err)
	}
}
