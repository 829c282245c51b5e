package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/dockerstore"
)

type loginOptions struct {
	*rootOptions
	hostSelection

	dockerConfig string
	plaintext    bool
}

func newLoginCommand(root *rootOptions) *cobra.Command {
	o := &loginOptions{rootOptions: root}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store freshly minted registry credentials in the local Docker config",
		Long: `Mint the credential of every selected host of the config and store them in
the local Docker config, as docker login would, so that docker, crane, oras,
helm and flux push artifact use them.

A username/password pair goes to the credential helper the Docker config
names for the host (credHelpers, else credsStore), or into config.json when
there is none. A config with no credentials yet adopts the platform's default
helper when it is installed, as docker login does. A bearer token always goes
into config.json as registrytoken: credential helpers only keep pairs.

Every credential is minted before anything is stored; if a host fails,
nothing is stored. Other entries and settings of the Docker config are kept.
Concurrent runs take turns through a lock file beside config.json
(config.json.lock), so none loses another's entries.`,
		Example: `  # Store every host of the default config in ~/.docker (or $DOCKER_CONFIG)
  flux-mirror login

  # One host, into another Docker config directory
  flux-mirror login -f ./mirror.yaml --host ghcr.io --docker-config ./.docker

  # Write into config.json even where a credential helper is configured
  flux-mirror login -f ./mirror.yaml --plaintext`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd.Context()) },
	}
	f := cmd.Flags()
	o.hostSelection.addFlags(f)
	f.StringVar(&o.dockerConfig, "docker-config", "", "Docker config directory holding config.json (default $DOCKER_CONFIG, else ~/.docker)")
	f.BoolVar(&o.plaintext, "plaintext", false, "store username/password pairs base64-encoded in config.json instead of a credential helper")
	return cmd
}

func (o *loginOptions) run(ctx context.Context) error {
	if err := o.hostSelection.validate(o.timeout); err != nil {
		return err
	}
	root, hosts, err := o.loadHosts(ctx, o.hostSelection, "the Docker config")
	if err != nil {
		return err
	}
	// A Docker config that cannot be used fails before any token is minted.
	dir, err := dockerstore.Dir(o.dockerConfig)
	if err != nil {
		return err
	}
	if _, err := dockerstore.Load(dir); err != nil {
		return err
	}
	creds, err := o.resolve(ctx, root, hosts)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	store, plan, err := o.store(sctx, dir, creds)
	if err != nil {
		return afterDeadline(ctx, sctx, o.timeout, "storing the credentials", err)
	}
	l := o.log()
	for _, p := range plan {
		l.Generatef("%s: %s", p.Credential.Host, where(p, store.Path()))
	}
	o.warnLogin(plan, store.Path())
	l.Successf("Docker config %s updated (%d %s)", store.Path(), len(plan), plural(len(plan), "host", "hosts"))
	return nil
}

// store saves creds in the Docker config in dir, holding the config's lock
// from reading it to saving it, so that concurrent runs keep each other's
// entries. It returns the config and where each credential went.
func (o *loginOptions) store(ctx context.Context, dir string, creds []credential.Credential) (*dockerstore.Config, []dockerstore.Placement, error) {
	unlock, err := dockerstore.Lock(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	// Read it again under the lock: minting may take a while, and what
	// another program (docker login, say) saved meanwhile must not be lost.
	store, err := dockerstore.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	plan, err := store.Plan(creds, o.plaintext)
	if err != nil {
		return nil, nil, err
	}
	l := o.log()
	l.Actionf("storing %d %s in the Docker config %s", len(plan), plural(len(plan), "credential", "credentials"), store.Path())
	if h := store.Adopted(); h != "" {
		l.Generatef("using credential helper %s%s as credsStore: the Docker config had no credentials yet, and docker login does the same",
			dockerstore.HelperPrefix, h)
	}
	if err := store.Apply(ctx, plan); err != nil {
		if h := store.Adopted(); h != "" {
			return nil, nil, fmt.Errorf("%w (%s%s is the platform's default helper, picked because the Docker config named none: set it up, or pass --plaintext)",
				err, dockerstore.HelperPrefix, h)
		}
		return nil, nil, err
	}
	return store, plan, nil
}

// where says where a placed credential went, never what it is.
func where(p dockerstore.Placement, path string) string {
	switch {
	case !p.InFile():
		return fmt.Sprintf("%s stored by credential helper %s%s (%s)", kind(p.Credential), dockerstore.HelperPrefix, p.Helper, p.ServingSetting)
	case p.Credential.Username == "":
		return fmt.Sprintf("bearer token stored in %s as registrytoken", path)
	default:
		return fmt.Sprintf("%s stored in %s", kind(p.Credential), path)
	}
}

// warnLogin tells the user about credentials that sit unencrypted in the
// file, and about those that readers will not find there because a helper
// serves their host.
func (o *loginOptions) warnLogin(plan []dockerstore.Placement, path string) {
	l := o.log()
	var unencrypted []string
	for _, p := range plan {
		if p.InFile() && p.Credential.Username != "" && !p.Shadowed() {
			unencrypted = append(unencrypted, p.Credential.Host)
		}
	}
	if len(unencrypted) > 0 {
		what := fmt.Sprintf("the %s of %s %s stored unencrypted (base64) in %s",
			plural(len(unencrypted), "password", "passwords"), strings.Join(unencrypted, ", "),
			plural(len(unencrypted), "is", "are"), path)
		if o.plaintext {
			l.Warningf("--plaintext: %s", what)
		} else {
			l.Warningf("%s: configure a credential helper (credsStore or credHelpers in the Docker config) to keep passwords out of the file", what)
		}
	}
	for _, p := range plan {
		if !p.Shadowed() {
			continue
		}
		helper := dockerstore.HelperPrefix + p.Serving
		if p.Credential.Username != "" {
			l.Warningf("--plaintext: %s serves %s (%s), and docker, crane, oras and helm ask it first and never read the entry written to %s; remove the helper for this host from the Docker config, or run without --plaintext",
				helper, p.Credential.Host, p.ServingSetting, path)
			continue
		}
		l.Warningf("%s serves %s (%s) but cannot keep a bearer token, so it went to %s: docker and crane read it there, but oras and helm ask only the helper and will not find it; remove the helper for this host from the Docker config if they need it",
			helper, p.Credential.Host, p.ServingSetting, path)
	}
}
