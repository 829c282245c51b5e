// Package config finds, reads, substitutes, decodes and validates a
// flux-mirror config file (mirror.plugin.fluxcd.io/v1beta1, kind Config).
//
// Everything here is offline: the files a config names (credential.fromPath,
// credential.jwkPath, the tls fromPath fields) are only checked for syntax.
// Other packages read them, confined to Loaded.Root.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvConfigPath names the environment variable holding the config path when
// no path is given on the command line.
const EnvConfigPath = "FLUX_MIRROR_CONFIG"

// Stdin is the config path that reads standard input.
const Stdin = "-"

// Options say where a config comes from.
type Options struct {
	// Path is the value of -f/--config. Empty means not given; Stdin reads
	// from the Stdin reader.
	Path string
	// NoEnvsubst turns off ${VAR} substitution (--no-envsubst): references
	// stay in the text as written.
	NoEnvsubst bool
	// Stdin is read when Path is Stdin. Nil means os.Stdin.
	Stdin io.Reader
	// LookupEnv reads the environment, both for EnvConfigPath and for
	// substitution. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Executable returns the path of the running binary, used for the
	// default config path. Nil means os.Executable. Symlinks in its result
	// are resolved either way.
	Executable func() (string, error)
}

// Loaded is a decoded, validated config.
type Loaded struct {
	// Config is the config in the model every command works on, whatever
	// version was written.
	Config *Config
	// Path is the file read, or Stdin.
	Path string
	// Root is the absolute directory that relative file paths in the config
	// are resolved in and confined to: the directory of Path as given, or
	// the working directory for Stdin. It is deliberately not the directory
	// of Path's symlink target, so that a config mounted from a Kubernetes
	// ConfigMap (mirror.yaml -> ..data/mirror.yaml) sees its sibling files.
	Root string
}

// Load reads the config Options point at, parses it, substitutes
// environment variables into its values and keys, decodes it strictly and
// validates it. Errors name the config path, and the variable, never the
// value, of a substituted value that is wrong.
func Load(opts Options) (*Loaded, error) {
	path, source, err := resolvePath(opts)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("config %q", path)
	if path == Stdin {
		name = "config from stdin"
	}
	data, root, err := read(opts, path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist (%s)", name, source)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg, err := parse(opts, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Loaded{Config: cfg, Path: path, Root: root}, nil
}

// parse checks, parses, substitutes, decodes and validates a config's
// bytes. Substitution happens in the parsed document, one scalar at a
// time, so that no value can change the document's structure.
func parse(opts Options, data []byte) (*Config, error) {
	root, err := singleDocument(data)
	if err != nil {
		return nil, err
	}
	var subs substitutions
	if !opts.NoEnvsubst {
		if subs, err = substituteTree(root, lookupEnv(opts)); err != nil {
			return nil, err
		}
	}
	return decodeAny(root, subs)
}

// read returns a config's bytes and the directory its relative paths are
// confined to.
func read(opts Options, path string) ([]byte, string, error) {
	if path == Stdin {
		stdin := opts.Stdin
		if stdin == nil {
			stdin = os.Stdin
		}
		data, err := io.ReadAll(io.LimitReader(stdin, MaxSize+1))
		if err != nil {
			return nil, "", fmt.Errorf("read standard input: %w", err)
		}
		wd, err := os.Getwd()
		if err != nil {
			return nil, "", fmt.Errorf("find the working directory: %w", err)
		}
		return data, wd, nil
	}
	data, err := readFile(path)
	if err != nil {
		return nil, "", err
	}
	root, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, "", err
	}
	return data, root, nil
}

// readFile reads at most one byte more than MaxSize of a file, enough for
// checkText to refuse a larger one without holding it in memory.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxSize+1))
}

// resolvePath returns the config path opts select, and, for error
// messages, which source chose it: Path if set, else $FLUX_MIRROR_CONFIG
// if set and not empty, else the real path of the running executable
// (symlinks resolved) with ".config" appended. Stdin means standard input.
func resolvePath(opts Options) (path, source string, err error) {
	if opts.Path != "" {
		return opts.Path, "path from -f/--config", nil
	}
	if p, ok := lookupEnv(opts)(EnvConfigPath); ok && p != "" {
		return p, "path from $" + EnvConfigPath, nil
	}
	executable := opts.Executable
	if executable == nil {
		executable = os.Executable
	}
	exe, err := executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", "", fmt.Errorf("find the default config next to the executable "+
			"(pass -f/--config or set $%s): %w", EnvConfigPath, err)
	}
	return exe + ".config", "the default path next to the executable: pass -f/--config or set $" + EnvConfigPath, nil
}

func lookupEnv(opts Options) func(string) (string, bool) {
	if opts.LookupEnv != nil {
		return opts.LookupEnv
	}
	return os.LookupEnv
}
