// Package cli builds the flux-mirror command tree. Every command has an
// options struct, a constructor that binds its flags, and a run method that
// completes, validates and runs; nothing lives in package globals, so tests
// build a fresh tree with their own streams.
package cli

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fluxcd/flux-mirror/internal/credential"
	"github.com/fluxcd/flux-mirror/internal/kube"
	"github.com/fluxcd/flux-mirror/internal/log"
)

// IOStreams are the standard streams a command tree reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// rootOptions are the flags every command shares: flux-mirror's own, and
// every flag the flux CLI accepts at its root, which it forwards to plugins.
type rootOptions struct {
	streams IOStreams

	timeout    time.Duration
	noEnvsubst bool
	verbose    bool
	// nsFollowsKubeContext is the flux CLI's flag; flux-mirror's namespace
	// always follows the kubeconfig context, so it changes nothing here.
	nsFollowsKubeContext bool
	kube                 kube.Flags

	// credentials carries what the credential sources get from outside;
	// tests inject an HTTP client through it.
	credentials credential.Options
	// now is the clock that stamps a written Secret; tests fix it so that
	// --export prints the same bytes on every run.
	now func() time.Time

	logger *log.Logger
}

// log returns the stderr logger, built once the flags are parsed.
func (o *rootOptions) log() *log.Logger {
	if o.logger == nil {
		o.logger = log.New(o.streams.ErrOut, o.verbose)
	}
	return o.logger
}

// NewRootCommand returns the flux-mirror command tree writing to streams.
func NewRootCommand(streams IOStreams) *cobra.Command {
	return newRootCommand(streams, seams{})
}

// seams are what tests replace: the credential sources' options and the
// clock (nil means time.Now).
type seams struct {
	credentials credential.Options
	now         func() time.Time
}

// newRootCommand is NewRootCommand with the seams tests set.
func newRootCommand(streams IOStreams, s seams) *cobra.Command {
	if s.now == nil {
		s.now = time.Now
	}
	o := &rootOptions{streams: streams, credentials: s.credentials, now: s.now}
	cmd := &cobra.Command{
		Use:   "flux-mirror",
		Short: "Mint short-lived registry credentials into Kubernetes Secrets and Docker configs",
		Long: `flux-mirror is a Flux CLI plugin (run it as "flux mirror" or "flux-mirror").

It reads the hosts of a flux-mirror config, mints the registry credential each
host is configured with (static or file tokens, freshly signed JWTs, cloud and
workload identities) and writes them where image pullers look for them.`,
		// Version gives the root a --version flag, as the flux CLI's root
		// has; flux forwards whatever is typed before "mirror".
		Version:           Version(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)

	pf := cmd.PersistentFlags()
	pf.DurationVar(&o.timeout, "timeout", time.Minute, "how long minting the credentials may take, network calls included; writing them (Kubernetes API, credential helpers) gets the same time again")
	pf.BoolVar(&o.noEnvsubst, "no-envsubst", false, "read ${VAR} in the config literally instead of substituting environment variables")
	pf.BoolVar(&o.verbose, "verbose", false, "print more detail")
	pf.BoolVar(&o.nsFollowsKubeContext, "ns-follows-kube-context", false, "accepted for the flux CLI; the namespace always follows the kubeconfig context here")
	o.kube.AddFlags(pf)

	cmd.AddCommand(
		newSecretCommand(o),
		newLoginCommand(o),
		newKeygenCommand(o),
		newSyncCommand(o),
		newVersionCommand(o),
	)
	return cmd
}
