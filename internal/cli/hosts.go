package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/dockerconfig"
)

// hostSelection is what the commands that mint credentials (secret, login)
// share: the config to read and the hosts of it to use.
type hostSelection struct {
	configPath string
	hosts      []string
}

// addFlags binds -f/--config and --host.
func (s *hostSelection) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&s.configPath, "config", "f", "", "config file, or - for standard input (default $FLUX_MIRROR_CONFIG, else <executable>.config)")
	f.StringArrayVar(&s.hosts, "host", nil, "a host of the config to include; repeatable (default every host)")
}

// validate checks --host syntax and --timeout; it does no I/O.
func (s *hostSelection) validate(timeout time.Duration) error {
	if timeout <= 0 {
		return fmt.Errorf("--timeout must be greater than zero, got %s", timeout)
	}
	for _, h := range s.hosts {
		if err := config.ValidateHost(h); err != nil {
			return fmt.Errorf("--host %q: %w", h, err)
		}
	}
	return nil
}

// loadHosts loads the config and picks the selected hosts that carry a
// credential. target names what is left alone when none does. It returns
// the directory relative paths are confined to, and the hosts.
func (o *rootOptions) loadHosts(ctx context.Context, s hostSelection, target string) (string, []config.Host, error) {
	loaded, err := o.loadConfig(ctx, s.configPath)
	if err != nil {
		return "", nil, err
	}
	hosts, err := selectHosts(loaded.Config.Hosts, s.hosts, target, o.log().Generatef)
	if err != nil {
		return "", nil, err
	}
	o.warnLongLifetimes(hosts)
	return loaded.Root, hosts, nil
}

// loadConfig loads the config within --timeout and gives up when ctx ends.
// Opening a FIFO with no writer, or reading a terminal or a hung network
// mount, blocks in a system call that no context reaches; the read goes on
// in its goroutine and its result is dropped (the process is about to end).
func (o *rootOptions) loadConfig(ctx context.Context, path string) (*config.Loaded, error) {
	lctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	type result struct {
		loaded *config.Loaded
		err    error
	}
	done := make(chan result, 1)
	go func() {
		l, err := config.Load(config.Options{Path: path, NoEnvsubst: o.noEnvsubst, Stdin: o.streams.In})
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			o.warnDeprecated(r.loaded)
		}
		return r.loaded, r.err
	case <-lctx.Done():
		name := "the config"
		if path != "" {
			name = fmt.Sprintf("config %q", path)
		}
		err := fmt.Errorf("read %s: %w (a FIFO with no writer, a terminal or a hung mount never ends a read)", name, lctx.Err())
		return nil, afterDeadline(ctx, lctx, o.timeout, "reading the config", err)
	}
}

// warnDeprecated warns, once per run (a run loads one config), that the
// config is written in a deprecated version, listing what to rename.
func (o *rootOptions) warnDeprecated(l *config.Loaded) {
	if d := l.Config.Deprecations; len(d) > 0 {
		o.log().Warningf("%s is deprecated, and this config still works; to move it to %s: %s",
			l.Config.APIVersion, config.CurrentVersion, strings.Join(d, "; "))
	}
}

// warnLongLifetimes warns about JWTs signed to live longer than a day: a
// leaked one works that long, and a CronJob re-mints far more often.
func (o *rootOptions) warnLongLifetimes(hosts []config.Host) {
	for _, h := range hosts {
		if h.Credential == nil || h.Credential.Expiration <= config.LongJWTLifetime {
			continue
		}
		o.log().Warningf("%s: a credential lifetime (exp, or expiration in v1beta2) of %s signs JWTs valid for more than %s, and a leaked one works that long; "+
			"mint short-lived tokens and run flux-mirror more often instead", h.Host, h.Credential.Expiration, config.LongJWTLifetime)
	}
}

// resolve mints every host's credential concurrently under one --timeout
// deadline.
func (o *rootOptions) resolve(ctx context.Context, root string, hosts []config.Host) ([]credential.Credential, error) {
	l := o.log()
	l.Actionf("minting credentials for %d %s", len(hosts), plural(len(hosts), "host", "hosts"))
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	creds, err := credential.ResolveAll(rctx, root, hosts, o.credentials)
	if err != nil {
		if errors.Is(rctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("timed out after %s (--timeout): %w", o.timeout, err)
		}
		return nil, err
	}
	for _, c := range creds {
		l.Generatef("%s: %s", c.Host, describe(c, o.now()))
	}
	return creds, nil
}

// selectHosts picks the hosts named by --host (all when none), reports the
// ones that carry nothing for a Docker config, and refuses an empty result,
// saying that target is left as it is.
func selectHosts(all []config.Host, names []string, target string, skipped func(string, ...any)) ([]config.Host, error) {
	chosen := all
	if len(names) > 0 {
		chosen = nil
		seen := map[string]bool{}
		for _, n := range names {
			key := dockerconfig.Key(n)
			if seen[key] {
				continue
			}
			seen[key] = true
			i := indexOfHost(all, key)
			if i < 0 {
				return nil, fmt.Errorf("--host %q: not in the config's hosts (%s)", n, hostList(all))
			}
			chosen = append(chosen, all[i])
		}
	}
	var out []config.Host
	for _, h := range chosen {
		if h.Credential == nil && h.Provider == "" {
			skipped("skipping %s: no credential or provider (its tls and maxChunkSize settings are for sync)", h.Host)
			continue
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no selected host has a credential or provider: nothing to write, %s is left as it is", target)
	}
	return out, nil
}

func indexOfHost(hosts []config.Host, key string) int {
	for i, h := range hosts {
		if dockerconfig.Key(h.Host) == key {
			return i
		}
	}
	return -1
}

func hostList(hosts []config.Host) string {
	if len(hosts) == 0 {
		return "it has none"
	}
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Host
	}
	return "it has " + strings.Join(names, ", ")
}

// describe says what a credential is, and how long it lives from now,
// without showing it.
func describe(c credential.Credential, now time.Time) string {
	if c.ExpiresAt.IsZero() {
		return kind(c) + ", expiry unknown"
	}
	return fmt.Sprintf("%s, expires %s (in %s)", kind(c), c.ExpiresAt.UTC().Format(time.RFC3339),
		c.ExpiresAt.Sub(now).Round(time.Second))
}

// kind names a credential's shape without its secret.
func kind(c credential.Credential) string {
	if c.Username != "" {
		return fmt.Sprintf("username %q and password", c.Username)
	}
	return "bearer token"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
