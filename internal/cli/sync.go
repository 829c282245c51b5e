package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/registry"
	"github.com/fluxcd/flux-mirror/internal/selector"
	"github.com/fluxcd/flux-mirror/internal/sigverify"
)

// outputs are the values of sync's -o/--output.
var outputs = []string{"text", "json", "yaml"}

type syncOptions struct {
	*rootOptions

	configPath    string
	output        string
	concurrency   int
	retries       int
	timeout       time.Duration
	overwrite     bool
	dryRun        bool
	driftExitCode int
	noProgress    bool
	insecure      bool
	reportPath    string
	layout        layoutFlags

	// now is the clock of the report and the Summary line.
	now func() time.Time
}

func newSyncCommand(root *rootOptions) *cobra.Command {
	o := &syncOptions{rootOptions: root, now: time.Now}
	cmd := &cobra.Command{
		Use:   "sync [CONFIG|-]",
		Short: "Mirror the config's OCI artifacts and Helm charts into the registries it names",
		Long: `Copy the selected tags of every artifacts entry of the config from its source
repository to its destination repository, byte for byte (whole multi-platform
indexes, digests preserved), the tag written last. Then push the selected
versions of every charts entry from its HTTP chart repository to its oci://
destination as Helm OCI artifacts; the chart repositories' credentials and TLS
settings come from Helm's repositories file ($HELM_REPOSITORY_CONFIG).

A tag the destination already has with the same digest is skipped; one it has
with another digest is reported as drifted and left alone unless the entry
(or --overwrite) says overwrite. Exit status: 1 when anything failed, else
--drift-exit-code when anything drifted, else 0. An entry with verify copies a
tag only once its cosign signature verifies (keyless against the identities it
lists, or by its publicKey), dry runs included.

Across an air gap, --to-archive FILE writes what the config selects into one
archive (a tar of an OCI image layout, zstd-compressed when FILE ends in .zst)
instead of the destinations, each tag under its destination reference; on the
other side --from-archive FILE verifies the whole archive, then pushes it to the
same destinations with the same decisions, report and exit status, never
contacting the sources. --to-layout and --from-layout do the same with an OCI
layout directory (as oras --oci-layout, skopeo oci: and crane read).`,
		Example: `  # Mirror everything the config selects
  flux-mirror sync ./mirror.yaml

  # Carry it over an air gap: export on a connected machine, import inside
  flux-mirror sync ./mirror.yaml --to-archive site.tar.zst
  flux-mirror sync ./mirror.yaml --from-archive site.tar.zst

  # What would change, as a JSON report, without writing anything
  flux-mirror sync ./mirror.yaml --dry-run -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if o.configPath != "" {
					return fmt.Errorf("the config is given twice, as the argument %q and as -f/--config %q: give one", args[0], o.configPath)
				}
				o.configPath = args[0]
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.configPath, "config", "f", "", "config file, or - for standard input (default $FLUX_MIRROR_CONFIG, else <executable>.config)")
	f.StringVarP(&o.output, "output", "o", "text", "text, json or yaml; json and yaml print only the report on stdout")
	f.IntVar(&o.concurrency, "concurrency", 4, "tag jobs run at once across the run (entries take them in config order), and blobs of one copy moved at once")
	f.IntVar(&o.retries, "retries", 3, "more attempts of a failed job (not for errors that cannot heal)")
	// This shadows the root's --timeout: cobra parses a --timeout typed
	// before "sync" (as "flux --timeout 2m mirror sync" passes it) into
	// this flag too, so it applies unless sync's own is given after it.
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "budget of one tag job, all its attempts included")
	f.BoolVar(&o.overwrite, "overwrite", false, "copy over destination tags that hold another digest, as if every entry said overwrite: true")
	f.BoolVar(&o.dryRun, "dry-run", false, "plan and compare everything, write nothing")
	f.IntVar(&o.driftExitCode, "drift-exit-code", 2, "exit status when something drifted and nothing failed, 0 to 255")
	f.BoolVar(&o.noProgress, "no-progress", false, "show no progress on stderr")
	f.BoolVar(&o.insecure, "insecure", false, "allow plain HTTP to registries (tests, development)")
	f.StringVar(&o.reportPath, "report", "", "also write the JSON report to this file (atomically), whatever --output is")
	f.StringVar(&o.layout.toArchive, "to-archive", "", "write what the config selects into this archive (a tar of an OCI image layout, zstd when it ends in .zst) instead of the destinations, each under its destination reference")
	f.StringVar(&o.layout.fromArchive, "from-archive", "", "push this archive's content (written by --to-archive) to the config's destinations; the config's sources are not contacted. The archive is verified whole before anything is pushed")
	f.StringVar(&o.layout.toLayout, "to-layout", "", "write into this OCI image layout directory (created, or added to) instead of the destinations")
	f.StringVar(&o.layout.fromLayout, "from-layout", "", "read the config's artifacts from this OCI image layout directory, by destination reference, instead of the sources")
	f.StringVar(&o.layout.tmpDir, "tmp-dir", "", "directory for the archive's extracted (--from-archive, default $TMPDIR) or assembled (--to-archive, default the archive's directory) layout")
	return cmd
}

// validate checks the flags; it does no I/O.
func (o *syncOptions) validate() error {
	switch {
	case !slices.Contains(outputs, o.output):
		return fmt.Errorf("--output must be text, json or yaml, got %q", o.output)
	case o.concurrency <= 0:
		return fmt.Errorf("--concurrency must be greater than zero, got %d", o.concurrency)
	case o.retries < 0:
		return fmt.Errorf("--retries must be zero or more, got %d", o.retries)
	case o.timeout <= 0:
		return fmt.Errorf("--timeout must be greater than zero, got %s", o.timeout)
	case o.driftExitCode < 0 || o.driftExitCode > 255:
		return fmt.Errorf("--drift-exit-code must be between 0 and 255, got %d", o.driftExitCode)
	}
	return o.layout.validate()
}

func (o *syncOptions) run(ctx context.Context) error {
	if err := o.validate(); err != nil {
		return err
	}
	// Read like the other commands' configs: a FIFO with no writer or a
	// hung mount ends at the root's --timeout or on a signal.
	loaded, err := o.loadConfig(ctx, o.configPath)
	if err != nil {
		return err
	}
	cfg := loaded.Config
	if len(cfg.Artifacts) == 0 && len(cfg.Charts) == 0 {
		return fmt.Errorf("config %q has no artifacts and no charts: add an entry to sync", loaded.Path)
	}
	// One verifier for the run: the public-good trust root is fetched at
	// most once, and only when a tag's signature needs it.
	verifier := sigverify.NewVerifier(sigverify.Options{Timeout: o.timeout})
	entries, err := o.entries(cfg.Artifacts, loaded.Root, verifier)
	if err != nil {
		return err
	}
	charts, err := o.chartEntries(cfg.Charts)
	if err != nil {
		return err
	}
	entries = append(entries, charts...)
	lay, err := o.openLayouts(ctx, entries)
	if err != nil {
		return err
	}
	defer lay.close()
	o.log().Debugf("sync %s: %d %s, %d %s; concurrency %d, retries %d, timeout %s per job",
		loaded.Path, len(cfg.Artifacts), plural(len(cfg.Artifacts), "artifact", "artifacts"),
		len(cfg.Charts), plural(len(cfg.Charts), "chart", "charts"), o.concurrency, o.retries, o.timeout)
	// The hosts' TLS settings and SPIFFE sources are opened here; their
	// credentials are minted when a registry is first asked.
	regs, err := registry.New(ctx, registry.Options{
		Root: loaded.Root, Hosts: cfg.Hosts, Credentials: o.credentials, Logger: o.log().Debugf,
	})
	if err != nil {
		return err
	}
	defer regs.Close()
	p := newSyncProgress(o, len(entries))
	m, err := mirror.New(mirror.Options{
		Remote: []remote.Option{
			remote.WithAuthFromKeychain(lay.keychain(regs.Keychain())),
			remote.WithUserAgent("flux-mirror/" + Version()),
		},
		// Installed by the engine beneath its Retry-After notes.
		Transport: lay.transport(regs.Transport()), Insecure: o.insecure,
		Concurrency: o.concurrency, Retries: o.retries, Timeout: o.timeout, DryRun: o.dryRun,
		Events: lay.events(p.event),
	})
	if err != nil {
		return err
	}
	p.start(m)
	start := o.now()
	results := m.Run(ctx, entries)
	p.stop()
	layErr := lay.finish(ctx, results)
	err = o.finish(ctx, results, o.now().Sub(start), start)
	if layErr != nil {
		return &ExitError{Code: 1, Err: layErr}
	}
	return err
}

// entries turns the config's artifacts into the engine's entries; the
// files a verify block names are read here, confined to root, so that a
// wrong one stops the run before any request.
func (o *syncOptions) entries(artifacts []config.Artifact, root string, verifier *sigverify.Verifier) ([]mirror.Entry, error) {
	out := make([]mirror.Entry, 0, len(artifacts))
	for i, a := range artifacts {
		e := mirror.Entry{Source: a.Source, Destination: a.Destination, Overwrite: a.Overwrite || o.overwrite,
			IncludeReferrers: a.IncludeReferrers}
		if a.Verify != nil {
			p, err := sigverify.NewPolicy(a.Verify, root)
			if err != nil {
				return nil, fmt.Errorf("artifacts[%d].verify.%w", i, err)
			}
			e.Verify = signatureCheck(verifier, p)
		}
		for j, p := range a.Platforms {
			// Validated with the config: this only parses.
			pl, err := v1.ParsePlatform(p)
			if err != nil {
				return nil, fmt.Errorf("artifacts[%d].platforms[%d]: %w", i, j, err)
			}
			e.Platforms = append(e.Platforms, *pl)
		}
		if a.Selector != nil {
			s, err := selector.Compile(selectorSpec(a.Selector))
			if err != nil {
				return nil, fmt.Errorf("artifacts[%d].%w", i, err)
			}
			e.Selector = s
		}
		out = append(out, e)
	}
	return out, nil
}

// selectorSpec is the config's selector in the selector package's terms;
// limit defaults to 1.
func selectorSpec(s *config.Selector) selector.Spec {
	spec := selector.Spec{Semver: s.Semver, SortBy: s.SortBy, Limit: selector.DefaultLimit}
	if s.Regex != nil {
		spec.Pattern, spec.Extract = s.Regex.Pattern, s.Regex.Extract
	}
	if s.Limit != nil {
		spec.Limit = int(*s.Limit)
	}
	return spec
}

// signatureCheck is the engine's check of one verifying entry: the
// signature through v, then its age against the entry's minAge. Refusals
// are final; a registry error is retried like any failed request.
func signatureCheck(v *sigverify.Verifier, p *sigverify.Policy) mirror.SignatureCheck {
	return func(ctx context.Context, d name.Digest, sigTag bool, opts ...remote.Option) (*mirror.Verification, error) {
		r, err := v.Verify(ctx, p, d, sigTag, opts...)
		if err == nil {
			var age time.Duration
			var tooNew bool
			if age, tooNew, err = p.CheckAge(r, v.Now()); err == nil {
				return &mirror.Verification{Provider: config.VerifyProviderCosign, Issuer: r.Issuer, Identity: r.Identity,
					IntegratedTime: r.IntegratedTime, Age: age, MinAge: p.MinAge, TooNew: tooNew}, nil
			}
			err = fmt.Errorf("%s: %w", d, err) // Verify's errors name the digest; CheckAge's do not
		}
		if errors.Is(err, sigverify.ErrUnverified) {
			return nil, mirror.Refused(err)
		}
		return nil, err
	}
}
