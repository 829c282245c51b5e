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

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/dockerconfig"
	"github.com/fluxcd/flux-mirror/internal/kube"
)

type secretOptions struct {
	*rootOptions

	hostSelection
	namespaces namespaceSelection
	name       string
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
If any host fails, nothing is written. The Secret is annotated with when it
was written (mirror.plugin.fluxcd.io/written-at) and, when known, when its
earliest credential expires and for which host
(mirror.plugin.fluxcd.io/expires-at, mirror.plugin.fluxcd.io/expires-host),
so that monitoring can alert on a Secret that stopped rotating.

With --namespaces, --namespace-selector or -A the credentials are minted
once and the same Secret is written to every selected namespace, a few at
a time within --kube-api-qps and --kube-api-burst. A namespace that fails
is reported by name and the others are still written; the exit status is
1 if any failed. A namespace being deleted that a selector finds is
skipped. --service-account adds the Secret to imagePullSecrets of the named
ServiceAccounts in each namespace written, keeping their other entries; a
missing ServiceAccount is reported, never created.`,
		Example: `  # Create or replace regcreds with every host of the default config
  flux-mirror secret regcreds

  # Two hosts only, in another namespace and context
  flux-mirror secret regcreds -n flux-system --context prod \
    --host registry.example.com --host ghcr.io -f ./mirror.yaml

  # Every namespace labelled tenant=true; their default ServiceAccounts pull with it
  flux-mirror secret regcreds --namespace-selector tenant=true --service-account default

  # Print the Secret instead of writing it
  flux-mirror secret regcreds --export -f ./mirror.yaml`,
		Args: secretArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	o.hostSelection.addFlags(f)
	o.namespaces.addFlags(f)
	f.BoolVar(&o.create, "create", false, "fail if the Secret already exists instead of replacing it")
	f.BoolVar(&o.export, "export", false, "print the Secret as YAML on stdout and write nothing; needs no cluster")
	return cmd
}

// secretArgs wants exactly the Secret's name, and says so in words.
func secretArgs(_ *cobra.Command, args []string) error {
	switch len(args) {
	case 0:
		return errors.New("missing the Secret name: flux-mirror secret NAME")
	case 1:
		return nil
	}
	return fmt.Errorf("one Secret name expected, got %d arguments (%s): flux-mirror secret NAME; select hosts with --host",
		len(args), strings.Join(args, " "))
}

// validate checks the arguments and flags; it does no I/O. The names are
// checked the same way with and without --export, before anything is
// minted: an exported Secret kubectl would refuse is no use either.
func (o *secretOptions) validate() error {
	if errs := validation.IsDNS1123Subdomain(o.name); len(errs) > 0 {
		return fmt.Errorf("invalid Secret name %q: %s", o.name, strings.Join(errs, "; "))
	}
	if o.kube.Namespace != "" {
		if err := validNamespace(o.kube.Namespace); err != nil {
			return fmt.Errorf("-n/--namespace: %w", err)
		}
	}
	if err := o.namespaces.validate(o.kube.Namespace != "", o.export); err != nil {
		return err
	}
	if o.create && o.export {
		return errors.New("--create and --export cannot be used together: --export writes nothing")
	}
	return o.hostSelection.validate(o.timeout)
}

// validNamespace refuses what the API server would refuse as a namespace.
func validNamespace(ns string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("invalid namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	return nil
}

func (o *secretOptions) run(ctx context.Context) error {
	if err := o.validate(); err != nil {
		return err
	}
	root, hosts, err := o.loadHosts(ctx, o.hostSelection, "an existing Secret")
	if err != nil {
		return err
	}

	if o.namespaces.many() {
		return o.runMany(ctx, root, hosts)
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

	m, secret, err := o.mint(ctx, root, hosts, namespace)
	if err != nil {
		return err
	}
	if o.export {
		out, err := yaml.Marshal(secret)
		if err != nil {
			return err
		}
		_, err = o.streams.Out.Write(out)
		return err
	}
	return o.write(ctx, client, m)
}

// runMany writes the Secret to the namespaces of the selection flags. The
// namespaces are known (listed, when a selector or -A asks for it) before
// anything is minted, and the credentials are minted and rendered once
// for all of them.
func (o *secretOptions) runMany(ctx context.Context, root string, hosts []config.Host) error {
	cfg, err := o.kube.RESTConfig()
	if err != nil {
		return err
	}
	client, err := kube.NewClient(cfg)
	if err != nil {
		return err
	}
	client.ManyNamespaces = true
	o.log().Debugf("API server %s", cfg.Host)
	names, skipped, err := o.targets(ctx, client)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		o.log().Warningf("no namespace to write secret %s to (%d being deleted): nothing minted, nothing written", o.name, skipped)
		return nil
	}
	m, _, err := o.mint(ctx, root, hosts, "")
	if err != nil {
		return err
	}
	return o.writeMany(ctx, client, names, skipped, m)
}

// minted is what a run mints and renders once, whatever it writes to.
type minted struct {
	data  []byte
	stamp kube.Stamp
	hosts int
}

// mint resolves the hosts' credentials and renders the Secret for
// namespace, refusing one over Kubernetes' size limit, and warns about
// credentials pullers will not use or will find expired.
func (o *secretOptions) mint(ctx context.Context, root string, hosts []config.Host, namespace string) (minted, *kube.Secret, error) {
	creds, err := o.resolve(ctx, root, hosts)
	if err != nil {
		return minted{}, nil, err
	}
	data, err := dockerconfig.Render(creds)
	if err != nil {
		return minted{}, nil, err
	}
	stamp := stampOf(creds, o.now())
	secret := kube.NewDockerConfigSecret(namespace, o.name, data, stamp)
	if err := kube.CheckSize(secret); err != nil {
		return minted{}, nil, splitHint(err, o.name, len(creds))
	}
	warnBearer(o, creds)
	o.warnExpiry(creds, stamp.WrittenAt)
	return minted{data: data, stamp: stamp, hosts: len(creds)}, secret, nil
}

// write upserts the Secret under its own --timeout deadline, then points
// the ServiceAccounts of --service-account at it.
func (o *secretOptions) write(ctx context.Context, client *kube.SecretClient, m minted) error {
	l := o.log()
	namespace := client.Namespace()
	l.Actionf("writing secret %s/%s", namespace, o.name)
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	op, err := client.UpsertSecret(wctx, o.name, m.data, m.stamp, o.create)
	if err != nil {
		var size *kube.SizeError
		if errors.As(err, &size) {
			return splitHint(err, o.name, m.hosts)
		}
		return afterDeadline(ctx, wctx, o.timeout, "writing the Secret", err)
	}
	l.Successf("secret %s/%s %s (%d %s)", namespace, o.name, op, m.hosts, plural(m.hosts, "host", "hosts"))
	return o.patchServiceAccounts(ctx, wctx, client)
}

// splitHint tells how to bring a Secret under the API server's limit.
func splitHint(err error, name string, hosts int) error {
	return fmt.Errorf("%w: split the %d hosts over several Secrets, one run per Secret with its own --host flags "+
		"(flux-mirror secret %s-a --host A --host B, flux-mirror secret %s-b --host C, ...)", err, hosts, name, name)
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
	if err := validNamespace(ns); err != nil {
		return nil, err
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
	o.log().Warningf("%s %s a bearer token (registrytoken): Flux OCIRepository and HelmRepository use it, but kubelet and containerd ignore it, so pods cannot pull from %s with this Secret; set credential.username (in v1beta1, username on the host) to write a username/password pair instead",
		strings.Join(bearer, ", "), plural(len(bearer), "gets", "get"), plural(len(bearer), "it", "them"))
}

// soonAfterWrite is how soon after the write a credential may expire
// before the command warns: pods and Flux read the Secret long after it was
// written, so a credential that lives minutes is a configuration mistake.
const soonAfterWrite = 5 * time.Minute

// stampOf returns the Secret's stamp: written now, expiring with the
// earliest credential whose expiry is known.
func stampOf(creds []credential.Credential, now time.Time) kube.Stamp {
	s := kube.Stamp{WrittenAt: now.UTC().Truncate(time.Second)}
	for _, c := range creds {
		if !c.ExpiresAt.IsZero() && (s.ExpiresAt.IsZero() || c.ExpiresAt.Before(s.ExpiresAt)) {
			s.ExpiresAt, s.ExpiresHost = c.ExpiresAt, c.Host
		}
	}
	return s
}

// warnExpiry names the credentials that expire within soonAfterWrite of
// being written.
func (o *secretOptions) warnExpiry(creds []credential.Credential, written time.Time) {
	for _, c := range creds {
		if c.ExpiresAt.IsZero() || c.ExpiresAt.Sub(written) >= soonAfterWrite {
			continue
		}
		o.log().Warningf("%s: the credential expires at %s, %s after the Secret is written, and whatever reads the Secret later (kubelet, Flux) gets an expired one "+
			"unless flux-mirror runs again before then: mint longer-lived credentials (credential.expiration; exp in v1beta1) or run more often",
			c.Host, c.ExpiresAt.UTC().Format(time.RFC3339), c.ExpiresAt.Sub(written).Round(time.Second))
	}
}
