package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/api/v1beta1"
	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/dockerconfig"
	"github.com/fluxcd/flux-mirror/internal/kube"
)

type secretOptions struct {
	*rootOptions

	name       string
	configPath string
	hosts      []string
	create     bool
	export     bool
}

func newSecretCommand(root *rootOptions) *cobra.Command {
	o := &secretOptions{rootOptions: root}
	cmd := &cobra.Command{
		Use:   "secret <name>",
		Short: "Create or replace a kubernetes.io/dockerconfigjson Secret with freshly minted credentials",
		Long: `Mint the credential of every selected host of the config and write them all
into one Secret of type kubernetes.io/dockerconfigjson, usable as a pod
imagePullSecret and as the secretRef of a Flux OCIRepository or HelmRepository.

The Secret is created, or replaced in place keeping its labels and annotations.
If any host fails, nothing is written.`,
		Example: `  # Create or replace regcreds with every host of the default config
  flux-mirror secret regcreds

  # Two hosts only, in another namespace and context
  flux-mirror secret regcreds -n flux-system --context prod \
    --host registry.example.com --host ghcr.io -f ./mirror.yaml

  # Print the Secret instead of writing it
  flux-mirror secret regcreds --export -f ./mirror.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.configPath, "config", "f", "", "config file, or - for standard input (default $FLUX_MIRROR_CONFIG, else <executable>.config)")
	f.StringArrayVar(&o.hosts, "host", nil, "a host of the config to include; repeatable (default every host)")
	f.BoolVar(&o.create, "create", false, "fail if the Secret already exists instead of replacing it")
	f.BoolVar(&o.export, "export", false, "print the Secret as YAML on stdout and write nothing; needs no cluster")
	return cmd
}

// validate checks the arguments and flags; it does no I/O.
func (o *secretOptions) validate() error {
	if errs := validation.IsDNS1123Subdomain(o.name); len(errs) > 0 {
		return fmt.Errorf("invalid Secret name %q: %s", o.name, strings.Join(errs, "; "))
	}
	if o.create && o.export {
		return errors.New("--create and --export cannot be used together: --export writes nothing")
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout must be greater than zero, got %s", o.timeout)
	}
	for _, h := range o.hosts {
		if err := config.ValidateHost(h); err != nil {
			return fmt.Errorf("--host %q: %w", h, err)
		}
	}
	return nil
}

func (o *secretOptions) run(ctx context.Context) error {
	if err := o.validate(); err != nil {
		return err
	}
	l := o.log()
	loaded, err := config.Load(config.Options{Path: o.configPath, NoEnvsubst: o.noEnvsubst, Stdin: o.streams.In})
	if err != nil {
		return err
	}
	hosts, err := selectHosts(loaded.Config.Hosts, o.hosts, l.Generatef)
	if err != nil {
		return err
	}

	// Local mistakes (kubeconfig, namespace) fail before any token is minted.
	var client *kube.SecretClient
	namespace := o.kube.Namespace
	if !o.export {
		if client, err = o.secretClient(); err != nil {
			return err
		}
		namespace = client.Namespace()
	}

	creds, err := o.resolve(ctx, loaded.Root, hosts)
	if err != nil {
		return err
	}
	data, err := dockerconfig.Render(creds)
	if err != nil {
		return err
	}
	warnBearer(o, creds)

	if o.export {
		out, err := yaml.Marshal(kube.NewDockerConfigSecret(namespace, o.name, data))
		if err != nil {
			return err
		}
		_, err = o.streams.Out.Write(out)
		return err
	}

	l.Actionf("writing secret %s/%s", namespace, o.name)
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	op, err := client.UpsertSecret(wctx, o.name, data, o.create)
	if err != nil {
		return err
	}
	l.Successf("secret %s/%s %s (%d %s)", namespace, o.name, op, len(creds), plural(len(creds), "host", "hosts"))
	return nil
}

func (o *secretOptions) secretClient() (*kube.SecretClient, error) {
	cfg, err := o.kube.RESTConfig()
	if err != nil {
		return nil, err
	}
	ns, _, err := o.kube.ResolveNamespace()
	if err != nil {
		return nil, err
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return nil, fmt.Errorf("invalid namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	o.log().Debugf("API server %s, namespace %s", cfg.Host, ns)
	return kube.NewSecretClient(cfg, ns)
}

// resolve mints every host's credential concurrently under one --timeout
// deadline.
func (o *secretOptions) resolve(ctx context.Context, root string, hosts []v1beta1.Host) ([]credential.Credential, error) {
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
		l.Generatef("%s: %s", c.Host, describe(c))
	}
	return creds, nil
}

// selectHosts picks the hosts named by --host (all when none), reports the
// ones that carry nothing for a Docker config, and refuses an empty result.
func selectHosts(all []v1beta1.Host, names []string, skipped func(string, ...any)) ([]v1beta1.Host, error) {
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
	var out []v1beta1.Host
	for _, h := range chosen {
		if h.Credential == nil && h.Provider == "" {
			skipped("skipping %s: no credential or provider (its tls and maxChunkSize settings are for sync)", h.Host)
			continue
		}
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, errors.New("no selected host has a credential or provider: nothing to write, an existing Secret is left as it is")
	}
	return out, nil
}

func indexOfHost(hosts []v1beta1.Host, key string) int {
	for i, h := range hosts {
		if dockerconfig.Key(h.Host) == key {
			return i
		}
	}
	return -1
}

func hostList(hosts []v1beta1.Host) string {
	if len(hosts) == 0 {
		return "it has none"
	}
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Host
	}
	return "it has " + strings.Join(names, ", ")
}

// describe says what a credential is without showing it.
func describe(c credential.Credential) string {
	kind := "bearer token"
	if c.Username != "" {
		kind = fmt.Sprintf("username %q and password", c.Username)
	}
	if c.ExpiresAt.IsZero() {
		return kind + ", expiry unknown"
	}
	return fmt.Sprintf("%s, expires %s (in %s)", kind, c.ExpiresAt.UTC().Format(time.RFC3339),
		time.Until(c.ExpiresAt).Round(time.Second))
}

// warnBearer tells the user which hosts kubelet and containerd will not
// authenticate to: they ignore registrytoken.
func warnBearer(o *secretOptions, creds []credential.Credential) {
	var bearer []string
	for _, c := range creds {
		if c.Username == "" {
			bearer = append(bearer, c.Host)
		}
	}
	if len(bearer) == 0 {
		return
	}
	o.log().Warningf("%s %s a bearer token (registrytoken): Flux OCIRepository and HelmRepository use it, but kubelet and containerd ignore it, so pods cannot pull from %s with this Secret; set username on the host to write a username/password pair instead",
		strings.Join(bearer, ", "), plural(len(bearer), "gets", "get"), plural(len(bearer), "it", "them"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
