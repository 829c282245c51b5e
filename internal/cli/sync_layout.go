package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/ocilayout"
	"github.com/fluxcd/flux-mirror/internal/selector"
)

// layoutFlags are sync's OCI-layout and archive flags.
type layoutFlags struct {
	toArchive, fromArchive string
	toLayout, fromLayout   string
	tmpDir                 string
}

// validate checks the layout flags; it does no I/O.
func (l layoutFlags) validate() error {
	switch {
	case l.toArchive != "" && l.toLayout != "":
		return errors.New("--to-archive and --to-layout both name the destination: give one")
	case l.fromArchive != "" && l.fromLayout != "":
		return errors.New("--from-archive and --from-layout both name the source: give one")
	case l.toArchive != "" && l.fromArchive != "" && filepath.Clean(l.toArchive) == filepath.Clean(l.fromArchive):
		return errors.New("--to-archive and --from-archive name the same file: give another --to-archive")
	case l.tmpDir != "" && l.fromArchive == "" && l.toArchive == "":
		return errors.New("--tmp-dir is only used with --from-archive or --to-archive")
	}
	return nil
}

// layoutRun is one run's layouts: the one read as the source (entries read
// their destination repositories from it) and the one written as the
// destination, and the temporary directories to remove at the end.
type layoutRun struct {
	logf   func(format string, args ...any)
	flags  layoutFlags
	dryRun bool
	routes []ocilayout.Route
	labels []string // the entries' own sources, for the report
	// aliases are the registries the source layout stands for, by the
	// alias the engine knows each by.
	aliases map[string]string
	// replacer rewrites the aliases in error texts; built once, on first
	// use (events come from several goroutines).
	replacer     *strings.Replacer
	replacerOnce sync.Once
	dst          *ocilayout.Store
	stores       []*ocilayout.Store
	cleanup      []string
}

// openLayouts opens the layouts the flags name and rewrites entries so that
// sources come from the source layout. An archive to read is extracted and
// verified whole first: nothing is pushed from an archive that is not
// intact.
func (o *syncOptions) openLayouts(ctx context.Context, entries []mirror.Entry) (*layoutRun, error) {
	l := &layoutRun{logf: o.log().Debugf, flags: o.layout, dryRun: o.dryRun}
	if err := l.openSource(ctx, entries, o.nameOptions()); err != nil {
		l.close()
		return nil, err
	}
	if err := l.openDestination(entries, o.nameOptions()); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

func (o *syncOptions) nameOptions() []name.Option {
	if o.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// openSource verifies and opens --from-archive or --from-layout, and makes
// every entry read its destination repository from there.
func (l *layoutRun) openSource(ctx context.Context, entries []mirror.Entry, opts []name.Option) error {
	dir := l.flags.fromLayout
	switch {
	case l.flags.fromArchive != "":
		tmp, err := os.MkdirTemp(l.flags.tmpDir, "flux-mirror-import-*")
		if err != nil {
			return fmt.Errorf("--tmp-dir: a directory to extract the archive in: %w", err)
		}
		l.cleanup = append(l.cleanup, tmp)
		if err := ocilayout.Unpack(ctx, l.flags.fromArchive, tmp); err != nil {
			return fmt.Errorf("--from-archive: %w: nothing was pushed", err)
		}
		if err := ocilayout.Verify(ctx, tmp, true, true); err != nil {
			return fmt.Errorf("--from-archive %s: %w: nothing was pushed", l.flags.fromArchive, err)
		}
		l.logf("--from-archive %s: extracted into %s and verified", l.flags.fromArchive, tmp)
		dir = tmp
	case dir != "":
		if err := ocilayout.Verify(ctx, dir, false, false); err != nil {
			return fmt.Errorf("--from-layout %s: %w: nothing was pushed", dir, err)
		}
	default:
		return nil
	}
	s, err := ocilayout.Open(dir)
	if err != nil {
		return err
	}
	if l.flags.fromArchive != "" {
		s.Label = "the archive " + l.flags.fromArchive
	}
	l.logf("source layout %s holds %d %s: %s", dir, len(s.Repositories()), plural(len(s.Repositories()), "repository", "repositories"), strings.Join(s.Repositories(), ", "))
	l.stores = append(l.stores, s)
	rt := ocilayout.Route{Store: s, Hosts: map[string]string{}, Ping: map[string]bool{}}
	aliases := map[string]string{}
	l.labels = make([]string, len(entries))
	for i := range entries {
		e := &entries[i]
		dst, err := name.NewRepository(e.Destination, opts...)
		if err != nil {
			continue // its plan fails with the parse error
		}
		alias, ok := aliases[dst.RegistryStr()]
		if !ok {
			// A name no real registry has: the layout answers for it.
			alias = fmt.Sprintf("source-%d.oci-layout.invalid", len(aliases))
			aliases[dst.RegistryStr()] = alias
			rt.Hosts[alias], rt.Ping[alias] = dst.RegistryStr(), true
		}
		if l.aliases == nil {
			l.aliases = map[string]string{}
		}
		l.aliases[alias] = dst.RegistryStr()
		l.labels[i] = e.Source
		e.Source = alias + "/" + dst.RepositoryStr()
		if e.Chart != nil {
			// The layout holds the versions chosen at export as tags ('+'
			// written '_'): take them all, highest version first as the
			// export listed them (build metadata does not order).
			e.Chart, e.Selector = nil, chartTagSelector()
		}
	}
	l.routes = append(l.routes, rt)
	return nil
}

// chartTagSelector orders a layout's chart tags by version, all of them.
func chartTagSelector() *selector.Selector {
	s, err := selector.Compile(selector.Spec{Pattern: "^([^_]+)", Extract: "$1", SortBy: selector.SortSemver})
	if err != nil {
		panic(err) // a constant spec
	}
	return s
}

// openDestination opens --to-layout, or a staging layout for --to-archive,
// as every entry's destination.
func (l *layoutRun) openDestination(entries []mirror.Entry, opts []name.Option) error {
	dir := l.flags.toLayout
	if l.flags.toArchive != "" {
		parent := l.flags.tmpDir
		if parent == "" {
			parent = filepath.Dir(l.flags.toArchive)
		}
		tmp, err := os.MkdirTemp(parent, ".flux-mirror-export-*")
		if err != nil {
			return fmt.Errorf("--to-archive: a directory to assemble the archive in (see --tmp-dir): %w", err)
		}
		l.cleanup = append(l.cleanup, tmp)
		dir = tmp
	}
	if dir == "" {
		return nil
	}
	s, err := ocilayout.Create(dir)
	if err != nil {
		return err
	}
	l.dst = s
	l.stores = append(l.stores, s)
	rt := ocilayout.Route{Store: s, Hosts: map[string]string{}, Ping: map[string]bool{}, Repositories: map[string]bool{}}
	sources := map[string]bool{}
	for _, e := range entries {
		if src, err := name.NewRepository(e.Source, opts...); err == nil && e.Chart == nil {
			sources[src.RegistryStr()] = true
		}
	}
	for _, e := range entries {
		dst, err := name.NewRepository(e.Destination, opts...)
		if err != nil {
			continue
		}
		rt.Hosts[dst.RegistryStr()] = dst.RegistryStr()
		rt.Ping[dst.RegistryStr()] = !sources[dst.RegistryStr()]
		rt.Repositories[dst.Name()] = true
	}
	l.routes = append(l.routes, rt)
	return nil
}

// transport routes the layouts' requests to them, the rest to base.
func (l *layoutRun) transport(base http.RoundTripper) http.RoundTripper {
	if len(l.routes) == 0 {
		return base
	}
	if base == nil {
		base = remote.DefaultTransport
	}
	return &ocilayout.Transport{Routes: l.routes, Base: base}
}

// events puts an entry's own source back in its events and result before
// the output prints them (drift warnings, --verbose, the text lines): the
// engine knows it by the layout's name for it.
func (l *layoutRun) events(next func(mirror.Event)) func(mirror.Event) {
	return func(ev mirror.Event) {
		if ev.Entry < len(l.labels) && l.labels[ev.Entry] != "" {
			ev.Source = l.labels[ev.Entry]
			if r := ev.EntryResult; r != nil {
				r.Source, r.Err = l.labels[ev.Entry], l.relabel(r.Err)
				for i := range r.Tags {
					l.relabelTag(&r.Tags[i])
				}
			}
			if ev.Result != nil {
				l.relabelTag(ev.Result)
			}
			ev.Err = l.relabel(ev.Err)
		}
		next(ev)
	}
}

// relabelTag relabels the errors of a tag and of its referrer rows.
func (l *layoutRun) relabelTag(t *mirror.TagResult) {
	t.Err = l.relabel(t.Err)
	for i := range t.Referrers {
		t.Referrers[i].Err = l.relabel(t.Referrers[i].Err)
	}
}

// relabel writes the registries the source layout stands for by their
// own names in err's text ("layout:" before a URL).
func (l *layoutRun) relabel(err error) error {
	if err == nil || len(l.aliases) == 0 {
		return err
	}
	l.replacerOnce.Do(func() {
		var pairs []string
		for alias, reg := range l.aliases {
			pairs = append(pairs, "https://"+alias, "layout:"+reg, "http://"+alias, "layout:"+reg, alias, reg)
		}
		l.replacer = strings.NewReplacer(pairs...)
	})
	msg := l.replacer.Replace(err.Error())
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// keychain answers anonymous for the registries a layout stands in for,
// so that no credential is minted (or sent) for them.
func (l *layoutRun) keychain(kc authn.Keychain) authn.Keychain {
	return layoutKeychain{inner: kc, routes: l.routes}
}

type layoutKeychain struct {
	inner  authn.Keychain
	routes []ocilayout.Route
}

// Resolve implements authn.Keychain.
func (k layoutKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), res)
}

// ResolveContext implements authn.ContextKeychain, so that minting a
// credential for a real registry still ends with the run.
func (k layoutKeychain) ResolveContext(ctx context.Context, res authn.Resource) (authn.Authenticator, error) {
	for _, rt := range k.routes {
		if _, ok := rt.Hosts[res.RegistryStr()]; ok && rt.Ping[res.RegistryStr()] {
			return authn.Anonymous, nil
		}
	}
	return authn.Resolve(ctx, k.inner, res)
}

// finish puts the entries' own sources back in the results, and saves the
// destination layout or writes the archive. An archive is written only
// when nothing failed, so that one on disk always holds everything the
// config selected.
func (l *layoutRun) finish(ctx context.Context, results []mirror.EntryResult) error {
	for i := range results {
		if i < len(l.labels) && l.labels[i] != "" {
			results[i].Source = l.labels[i]
		}
	}
	if l.dst == nil || l.dryRun {
		return nil
	}
	if l.flags.toLayout != "" {
		if err := l.dst.Save(); err != nil {
			return fmt.Errorf("--to-layout %s: write index.json: %w", l.flags.toLayout, err)
		}
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: no archive was written at %s", l.flags.toArchive)
	}
	if n := failures(results); n > 0 {
		return fmt.Errorf("%d failed, so no archive was written at %s: fix the failures above and run again", n, l.flags.toArchive)
	}
	if err := l.dst.Save(); err != nil {
		return fmt.Errorf("--to-archive: %w", err)
	}
	if err := ocilayout.Pack(ctx, l.cleanup[len(l.cleanup)-1], l.flags.toArchive, true); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped while writing the archive, so nothing was left at %s: %w", l.flags.toArchive, err)
		}
		return fmt.Errorf("--to-archive %s: %w", l.flags.toArchive, err)
	}
	return nil
}

// failures counts failed plans and tags.
func failures(results []mirror.EntryResult) int {
	n := 0
	for _, r := range results {
		if r.Err != nil {
			n++
		}
		for _, t := range r.Tags {
			if t.Status == mirror.StatusFailed {
				n++
			}
		}
	}
	return n
}

// close removes the temporary directories and unfinished uploads.
func (l *layoutRun) close() {
	for _, s := range l.stores {
		s.Close()
	}
	for _, d := range l.cleanup {
		os.RemoveAll(d)
	}
}
