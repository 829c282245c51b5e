package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/dockerconfig"
	"github.com/fluxcd/flux-mirror/internal/kube"
)

type secretOptions struct {
	*rootOptions

	hostSelection
	name   string
	create bool
	export bool
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
	o.hostSelection.addFlags(f)
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
	return o.hostSelection.validate(o.timeout)
}

func (o *secretOptions) run(ctx context.Context) error {
	if err := o.validate(); err != nil {
		return err
	}
	l := o.log()
	root, hosts, err := o.loadHosts(o.hostSelection, "an existing Secret")
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

	creds, err := o.resolve(ctx, root, hosts)
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
