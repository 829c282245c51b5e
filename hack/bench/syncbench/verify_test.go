package syncbench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// Issue 11's measure: issue 8's workload, each tag's index signed
// keylessly by the test Sigstore (a v0.3 bundle referrer; the registry
// has no referrers API, so it is found through the sha256-<hex>
// referrers tag), mirrored by an entry that verifies against a
// trustedRoot file, next to the same sync without verify and to the real
// `cosign verify` run once per tag.
const (
	fmVerify      = "flux-mirror sync (verify)"
	fmPlain       = "flux-mirror sync (no verify)"
	fmDryVerify   = "flux-mirror sync --dry-run (verify)"
	fmDryPlain    = "flux-mirror sync --dry-run (no verify)"
	cosignPerTag  = "cosign verify, one process per tag"
	verifySubject = `^release@flux-mirror\.example$`
	rootFileName  = "trusted_root.json"
)

// BenchmarkSyncVerify prints the verify tables; see the package comment.
func BenchmarkSyncVerify(b *testing.B) {
	needTime(b)
	cosign := testenv.Tool(b, "cosign")
	src := testenv.StartSyncRegistry(b)
	start := time.Now()
	w := pushWorkload(b, src.Host)
	ss := testenv.NewSigstore(b)
	signKeyless(b, ss, src.Host, w)
	root := ss.TrustedRootJSON(b)
	progress("workload pushed and signed in %s", time.Since(start).Round(time.Millisecond))
	j := &job{src: src.Host, repos: workloadRepos, tags: workloadTags,
		srcLog: func() []testenv.AccessLine { return src.AccessLog(b) },
		verify: func(dst string, t syncTool) error {
			if t.referrers { // the runs that copy: every tag must be there
				return w.verify(dst)
			}
			return nil
		}}
	fm, runs := tools([]func(string) syncTool{
		func(bin string) syncTool { return fluxMirrorVerifyTool(bin, root, true, false) },
		func(bin string) syncTool { return fluxMirrorVerifyTool(bin, root, false, false) },
		func(bin string) syncTool { return fluxMirrorVerifyTool(bin, root, true, true) },
		func(bin string) syncTool { return fluxMirrorVerifyTool(bin, root, false, true) },
	}, []syncTool{{name: cosignPerTag, argv: cosignVerifyArgv(cosign, root)}})
	measureRuns(b, j, runs)
	printVerify(os.Stdout, fm, runs)
	failRuns(b, runs)
}

// signKeyless signs every tag's index as cosign v3 does, with a bundle
// referrer made by the test Sigstore.
func signKeyless(b *testing.B, ss *testenv.Sigstore, host string, w *workload) {
	for _, key := range sortedKeys(w.index) {
		repo, _, _ := strings.Cut(key, ":")
		ref, err := name.ParseReference(host + "/" + key)
		if err != nil {
			b.Fatal(err)
		}
		d, err := remote.Head(ref)
		if err != nil {
			b.Fatal(err)
		}
		ss.SignBundle(b, host, repo, testenv.Pushed{Digest: d.Digest, MediaType: d.MediaType, Size: d.Size}, testenv.SignOptions{})
	}
}

// fluxMirrorVerifyTool runs `flux-mirror sync` on the workload's tags,
// verifying each against the trust root when verify is set, copying
// unless dryRun. The runs that copy are marked referrers, which here
// only means "check the destination".
func fluxMirrorVerifyTool(fm string, root []byte, verify, dryRun bool) syncTool {
	t := syncTool{name: fmPlain, referrers: !dryRun}
	if dryRun {
		t.name = fmDryPlain
	}
	if verify {
		t.without = t.name
		t.name = map[bool]string{false: fmVerify, true: fmDryVerify}[dryRun]
	}
	extra := ""
	if verify {
		extra = fmt.Sprintf("  verify:\n    provider: cosign\n    matchOIDCIdentity:\n    - {issuer: %s, subject: '%s'}\n    trustedRoot: %s\n",
			testenv.SigstoreIssuer, verifySubject, rootFileName)
	}
	t.argv = func(src, dst, dir string, repos, _ []string) ([]string, error) {
		if err := os.WriteFile(filepath.Join(dir, rootFileName), root, 0o600); err != nil {
			return nil, err
		}
		argv, err := fluxMirrorArgv(fm, dir, workloadConfig(src, dst, repos, extra))
		if dryRun {
			argv = append(argv, "--dry-run")
		}
		return argv, err
	}
	return t
}

// cosignVerifyArgv runs `cosign verify` on every repo:tag of the source,
// one after the other, against the same trust root, with the flags the
// test kit's Cosign.VerifyKeyless uses (the test Sigstore's certificates
// carry no SCT). Each process loads the trust root and the signature
// itself.
func cosignVerifyArgv(cosign string, root []byte) func(src, dst, dir string, repos, tags []string) ([]string, error) {
	return func(src, _, dir string, repos, tags []string) ([]string, error) {
		var b strings.Builder
		for _, r := range repos {
			for _, t := range tags {
				fmt.Fprintf(&b, "%s/%s:%s\n", src, r, t)
			}
		}
		list, rootFile := filepath.Join(dir, "cosign.list"), filepath.Join(dir, rootFileName)
		if err := os.WriteFile(list, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(rootFile, root, 0o600); err != nil {
			return nil, err
		}
		script := `set -e; while read -r ref; do "$0" verify --trusted-root "$1" --certificate-oidc-issuer "$2" ` +
			`--certificate-identity-regexp "$3" --insecure-ignore-sct --allow-insecure-registry --allow-http-registry "$ref" >/dev/null; done <"$4"`
		return []string{"sh", "-c", script, cosign, rootFile, testenv.SigstoreIssuer, verifySubject, list}, nil
	}
}

// printVerify prints the verify tables, cold and warm, with the cost per
// tag: each run's wall and CPU over the tags, and for a verifying sync the
// difference from the same sync without verify.
func printVerify(out io.Writer, fm *toolRun, runs []*toolRun) {
	tags := len(workloadRepos) * len(workloadTags)
	fmt.Fprintf(out, "\nverify: the sync workload (%d repositories x %d tags = %d tags), each tag's index signed keylessly by the test Sigstore "+
		"(a v0.3 bundle referrer, found through the sha256-<hex> referrers tag: the registry has no referrers API), verified against a trustedRoot file\n",
		len(workloadRepos), len(workloadTags), tags)
	fmt.Fprintf(out, "versions: %s\n", versions(*fmBin, "cosign"))
	printNote(out, fm)
	byName := map[string]*toolRun{}
	for _, r := range runs {
		byName[r.tool.name] = r
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, phase := range []struct {
		label   string
		skip    bool
		samples func(*toolRun) []testenv.Sample
		src     func(*toolRun) traffic
	}{
		{fmt.Sprintf("cold (median of %d, fresh destination)", *coldN), false, cold, func(r *toolRun) traffic { return r.coldSrc }},
		{fmt.Sprintf("warm re-run (median of %d)", *warmN), *warmN == 0, warm, func(r *toolRun) traffic { return r.warmSrc }},
	} {
		if phase.skip {
			continue
		}
		row(tw, phase.label, "wall", "range", "cpu", "peak", "wall/tag", "cpu/tag", "verify wall/tag", "verify cpu/tag", "src manifest/tag", "src blob/tag")
		for _, r := range runs {
			s := phase.samples(r)
			switch {
			case r.err != nil:
				row(tw, r.tool.name, "failed", "-", "-", "-", "-", "-", "-", "-", "-", "-")
			case len(s) > 0:
				m := testenv.Median(s)
				vw, vc := verifyCost(r, byName[r.tool.without], phase.samples, tags)
				t := phase.src(r)
				row(tw, r.tool.name, secs(m.Wall), spread(s), secs(m.CPU), peak(m), msPer(m.Wall, tags), msPer(m.CPU, tags), vw, vc,
					fmt.Sprintf("%.2f", per(t.manifests, tags)), fmt.Sprintf("%.2f", per(t.blobs, tags)))
			}
		}
	}
	_ = tw.Flush()
	printFailures(out, runs)
	fmt.Fprintln(out, "verify wall/tag, cpu/tag: a verifying sync's median minus the same sync's without verify, over the tags; cosign's is its whole run over the tags "+
		"(a process per tag, each loading the trust root). A sync loads the trust root once per run. Warm, every tag is up to date and nothing is verified, "+
		"except in a dry run into an empty destination, which verifies every tag on every run. src requests are counted on the first run of each kind")
	var costs []string
	for _, name := range []string{fmVerify, fmDryVerify, cosignPerTag} {
		if r := byName[name]; r != nil && r.err == nil && len(r.cold) > 0 {
			w, c := verifyCost(r, byName[r.tool.without], cold, tags)
			costs = append(costs, fmt.Sprintf("%s %s, %s", name, w, c))
		}
	}
	fmt.Fprintf(out, "verification per tag, cold (wall, cpu): %s\n", strings.Join(costs, "; "))
}

// verifyCost is what verify adds per tag, wall and CPU: r's median minus
// without's, over tags; for a run that is all verification (no pair, as
// cosign's), its own per tag; "-" for a run without verify.
func verifyCost(r, without *toolRun, samples func(*toolRun) []testenv.Sample, tags int) (wall, cpu string) {
	s := testenv.Median(samples(r))
	switch {
	case r.tool.name == cosignPerTag:
		return msPer(s.Wall, tags), msPer(s.CPU, tags)
	case r.tool.without == "" || without == nil || without.err != nil || len(samples(without)) == 0:
		return "-", "-"
	}
	o := testenv.Median(samples(without))
	return msPer(s.Wall-o.Wall, tags), msPer(s.CPU-o.CPU, tags)
}

// msPer is d over n, in milliseconds.
func msPer(d time.Duration, n int) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(n)/float64(time.Millisecond))
}

// The verifying config loads as sync would load it, with its verify
// block, and the per-tag arithmetic is right, without registries.
func TestVerifyToolAndPrint(t *testing.T) {
	t.Parallel()
	cfg, raw := loadToolConfig(t, fluxMirrorVerifyTool("fm", []byte("{}"), true, false), "127.0.0.1:5000", workloadRepos)
	v := cfg.Artifacts[0].Verify
	if len(cfg.Artifacts) != len(workloadRepos) || v == nil || v.TrustedRoot != rootFileName || len(v.MatchOIDCIdentity) != 1 {
		t.Fatalf("verify block %+v\n%s", v, raw)
	}
	sample := func(ms int) []testenv.Sample {
		return []testenv.Sample{{Wall: time.Duration(ms) * time.Millisecond, CPU: time.Duration(ms/2) * time.Millisecond}}
	}
	verifying := &toolRun{tool: fluxMirrorVerifyTool("fm", nil, true, false), cold: sample(3400), warm: sample(100)}
	plain := &toolRun{tool: fluxMirrorVerifyTool("fm", nil, false, false), cold: sample(1000), warm: sample(100)}
	cos := &toolRun{tool: syncTool{name: cosignPerTag}, cold: sample(4800), warm: sample(4800)}
	if w, c := verifyCost(verifying, plain, cold, 24); w != "100.0 ms" || c != "50.0 ms" {
		t.Errorf("verify cost %s, %s; want 100.0 ms, 50.0 ms", w, c)
	}
	if w, c := verifyCost(cos, nil, cold, 24); w != "200.0 ms" || c != "100.0 ms" {
		t.Errorf("cosign cost %s, %s; want 200.0 ms, 100.0 ms", w, c)
	}
	if w, _ := verifyCost(plain, nil, cold, 24); w != "-" {
		t.Errorf("cost of a run without verify %s, want -", w)
	}
	var out strings.Builder
	printVerify(&out, verifying, []*toolRun{verifying, plain, cos})
	if !strings.Contains(out.String(), fmVerify) || !strings.Contains(out.String(), "100.0 ms") {
		t.Errorf("table:\n%s", out.String())
	}
}
