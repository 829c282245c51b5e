package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/fluxcd/flux-mirror/internal/kube"
)

// namespaceSelection is where secret writes besides the one namespace of
// -n, and which ServiceAccounts it points at the Secret. -n is kubectl's
// flag, bound once on the root with kubectl's type, so the selection has
// flags of its own.
type namespaceSelection struct {
	namespaces      []string
	selector        string
	all             bool
	serviceAccounts []string
}

func (s *namespaceSelection) addFlags(f *pflag.FlagSet) {
	f.StringSliceVar(&s.namespaces, "namespaces", nil, "write the Secret to each of these namespaces (comma-separated or repeated) instead of the one of -n")
	f.StringVar(&s.selector, "namespace-selector", "", "write the Secret to every namespace whose labels match this label selector (needs list on namespaces)")
	f.BoolVarP(&s.all, "all-namespaces", "A", false, "write the Secret to every namespace (needs list on namespaces)")
	f.StringSliceVar(&s.serviceAccounts, "service-account", nil, "add the Secret to imagePullSecrets of this ServiceAccount in each namespace written, e.g. default (comma-separated or repeated)")
}

// many is true when the Secret goes to a selection of namespaces rather
// than the one of -n.
func (s *namespaceSelection) many() bool { return len(s.namespaces) > 0 || s.selector != "" || s.all }

// lists is true when the namespaces come from a list request.
func (s *namespaceSelection) lists() bool { return s.selector != "" || s.all }

// validate checks the selection flags against each other, -n (given
// explicitly when explicitNS is set) and --export; it does no I/O.
func (s *namespaceSelection) validate(explicitNS, export bool) error {
	var given []string
	if explicitNS {
		given = append(given, "-n/--namespace")
	}
	if len(s.namespaces) > 0 {
		given = append(given, "--namespaces")
	}
	if s.selector != "" {
		given = append(given, "--namespace-selector")
	}
	if s.all {
		given = append(given, "-A/--all-namespaces")
	}
	if len(given) > 1 {
		return fmt.Errorf("%s cannot be used together: pick one way to select namespaces (list several in --namespaces)", strings.Join(given, " and "))
	}
	if export && (s.many() || len(s.serviceAccounts) > 0) {
		return errors.New("--export prints one Secret and writes nothing: drop --namespaces, --namespace-selector, -A and --service-account")
	}
	for _, ns := range s.namespaces {
		if err := validNamespace(ns); err != nil {
			return fmt.Errorf("--namespaces: %w", err)
		}
	}
	s.namespaces = unique(s.namespaces)
	if s.selector != "" {
		if _, err := labels.Parse(s.selector); err != nil {
			return fmt.Errorf("--namespace-selector %q: %w (write it as kubectl -l takes it, e.g. team=a,env!=dev)", s.selector, err)
		}
	}
	for _, sa := range s.serviceAccounts {
		if errs := validation.IsDNS1123Subdomain(sa); len(errs) > 0 {
			return fmt.Errorf("--service-account: invalid ServiceAccount name %q: %s", sa, strings.Join(errs, "; "))
		}
	}
	s.serviceAccounts = unique(s.serviceAccounts)
	return nil
}

func unique(in []string) []string {
	var out []string
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// maxConcurrentWrites bounds the namespaces written at once. Each write is
// two or more requests, and the client's rate limiter (--kube-api-qps,
// --kube-api-burst) spaces them anyway; the bound keeps a cluster of
// thousands of namespaces from opening thousands of streams at once.
const maxConcurrentWrites = 8

// writers is how many namespaces are written at once: at most
// maxConcurrentWrites, fewer when --kube-api-burst allows fewer requests
// at once.
func writers(burst, namespaces int) int {
	n := min(maxConcurrentWrites, namespaces)
	if burst > 0 {
		n = min(n, burst)
	}
	return max(n, 1)
}

// targets returns the namespaces to write to: --namespaces as given, or
// those one list request finds. A terminating namespace the list found is
// reported and left out, and counted in skipped.
func (o *secretOptions) targets(ctx context.Context, client *kube.Client) (names []string, skipped int, err error) {
	if !o.namespaces.lists() {
		return o.namespaces.namespaces, 0, nil
	}
	lctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	found, err := client.ListNamespaces(lctx, o.namespaces.selector)
	if err != nil {
		return nil, 0, afterDeadline(ctx, lctx, o.timeout, "listing the namespaces", err)
	}
	for _, ns := range found {
		if ns.Terminating {
			o.log().Warningf("namespace %s is being deleted: skipped", ns.Name)
			skipped++
			continue
		}
		names = append(names, ns.Name)
	}
	return names, skipped, nil
}

// writeMany writes the same Secret to every namespace, a bounded number at
// once under one --timeout deadline. A namespace that fails gets its own
// "✗" line and does not stop the others; the returned error counts them.
func (o *secretOptions) writeMany(ctx context.Context, client *kube.Client, names []string, skipped int, m minted) error {
	l := o.log()
	l.Actionf("writing secret %s to %d %s", o.name, len(names), plural(len(names), "namespace", "namespaces"))
	wctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var (
		mu     sync.Mutex
		failed []string
		g      errgroup.Group
	)
	g.SetLimit(writers(o.kube.Burst, len(names)))
	for _, ns := range names {
		g.Go(func() error {
			if ctx.Err() != nil {
				// Interrupted: the namespaces not started yet get no line
				// each; the summary counts them as failed.
				mu.Lock()
				failed = append(failed, ns)
				mu.Unlock()
				return nil
			}
			if err := o.writeOne(ctx, wctx, client.Secrets(ns), m); err != nil {
				l.Failuref("%s", ErrorLine(err))
				mu.Lock()
				failed = append(failed, ns)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	written := len(names) - len(failed)
	tail := ""
	if skipped > 0 {
		tail = fmt.Sprintf(", %d skipped", skipped)
	}
	if len(failed) == 0 {
		l.Successf("secret %s written to %d %s (%d %s)%s", o.name, written, plural(written, "namespace", "namespaces"), m.hosts, plural(m.hosts, "host", "hosts"), tail)
		return nil
	}
	slices.Sort(failed)
	return &ExitError{Code: 1, Err: fmt.Errorf("secret %s: %d of %d namespaces failed (%s), %d written%s",
		o.name, len(failed), len(names), strings.Join(failed, ", "), written, tail)}
}

// writeOne writes the Secret to one namespace, then points the
// ServiceAccounts of --service-account at it.
func (o *secretOptions) writeOne(ctx, wctx context.Context, client *kube.SecretClient, m minted) error {
	ref := client.Namespace() + "/" + o.name
	op, err := client.UpsertSecret(wctx, o.name, m.data, m.stamp, o.create)
	if err != nil {
		return afterDeadline(ctx, wctx, o.timeout, "writing secret "+ref, err)
	}
	o.log().Successf("secret %s %s", ref, op)
	return o.patchServiceAccounts(ctx, wctx, client)
}

// patchServiceAccounts adds the Secret to imagePullSecrets of each
// --service-account in the client's namespace. A missing ServiceAccount is
// reported and left missing: the namespace may be too new for its
// controller to have made "default" yet, and the next run catches up.
func (o *secretOptions) patchServiceAccounts(ctx, wctx context.Context, client *kube.SecretClient) error {
	for _, sa := range o.namespaces.serviceAccounts {
		changed, err := client.AddImagePullSecret(wctx, sa, o.name)
		switch {
		case errors.Is(err, kube.ErrNoServiceAccount):
			o.log().Warningf("%s", ErrorLine(err))
		case err != nil:
			return afterDeadline(ctx, wctx, o.timeout, "patching serviceaccount "+client.Namespace()+"/"+sa, err)
		case changed:
			o.log().Generatef("serviceaccount %s/%s pulls with secret %s", client.Namespace(), sa, o.name)
		default:
			o.log().Debugf("serviceaccount %s/%s already pulls with secret %s", client.Namespace(), sa, o.name)
		}
	}
	return nil
}
