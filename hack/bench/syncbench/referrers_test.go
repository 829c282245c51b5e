package syncbench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// Issue 10's referrers workload: issue 8's, each tag's index signed by
// the real cosign (the tag-based sha256-<hex>.sig form) and given an SBOM
// by the real `oras attach`. The registry serves no referrers API, so the
// SBOM is found through the sha256-<hex> referrers tag.
// orasRecursive is the name of the peer the targets compare with.
const orasRecursive = "oras cp -r, + .sig tag (4 at a time)"

// BenchmarkSyncReferrers prints the referrers tables; see the package
// comment.
func BenchmarkSyncReferrers(b *testing.B) {
	needTime(b)
	oras, regsync := testenv.Tool(b, "oras"), testenv.Tool(b, "regsync")
	src := testenv.StartSyncRegistry(b)
	start := time.Now()
	w := signWorkload(b, src.Host, pushWorkload(b, src.Host))
	progress("workload pushed, signed and given SBOMs in %s", time.Since(start).Round(time.Millisecond))
	j := &job{src: src.Host, repos: workloadRepos, tags: workloadTags,
		srcLog: func() []testenv.AccessLine { return src.AccessLog(b) },
		verify: w.verify}
	fm, runs := tools([]func(string) syncTool{
		func(bin string) syncTool { return fluxMirrorTool(bin, true) },
		func(bin string) syncTool {
			t := fluxMirrorTool(bin, false)
			t.name = "flux-mirror sync (no referrers)"
			return t
		},
	}, []syncTool{
		{name: orasRecursive, argv: orasArgv(oras, true), referrers: true, without: "oras cp (4 at a time)"},
		{name: "oras cp (4 at a time)", argv: orasArgv(oras, false)},
		{name: "regsync once (referrers, digestTags)", argv: regsyncReferrersArgv(regsync, true), referrers: true,
			without: "regsync once (v tags only)"},
		{name: "regsync once (v tags only)", argv: regsyncReferrersArgv(regsync, false)},
	})
	measureRuns(b, j, runs)
	printReferrers(os.Stdout, w, fm, runs)
	failRuns(b, runs)
}

// signed is the workload with a signature and an SBOM per tag.
type signed struct {
	*workload
	sig  map[string]v1.Hash // "repo:tag" -> the manifest digest at repo:sha256-<hex>.sig
	sbom map[string]v1.Hash // "repo:tag" -> the SBOM referrer's manifest digest
}

// signWorkload signs every tag's index with a cosign key, offline and in
// the tag-based form, attaches an SBOM to it with oras, and reads back
// what they pushed.
func signWorkload(b *testing.B, host string, w *workload) *signed {
	cosign := testenv.NewCosign(b)
	s := &signed{workload: w, sig: map[string]v1.Hash{}, sbom: map[string]v1.Hash{}}
	for _, key := range sortedKeys(w.index) {
		repo, _, _ := strings.Cut(key, ":")
		ref := host + "/" + repo + "@" + w.index[key].String()
		cosign.Sign(b, ref)
		sbom, err := v1.NewHash(testenv.AttachSBOM(b, ref, key))
		if err != nil {
			b.Fatalf("SBOM of %s: %v", key, err)
		}
		s.sbom[key] = sbom
		if s.sig[key], err = digestOf(host + "/" + repo + ":" + sigTag(w.index[key])); err != nil {
			b.Fatalf("cosign's signature of %s: %v", key, err)
		}
	}
	return s
}

// verify is nil when dst holds every tag and, for a tool that copies
// referrers, each tag's signature tag and an SBOM a client finds.
func (s *signed) verify(dst string, t syncTool) error {
	if err := s.workload.verify(dst); err != nil || !t.referrers {
		return err
	}
	for key, d := range s.index {
		repo, _, _ := strings.Cut(key, ":")
		if err := sameDigest(dst+"/"+repo+":"+sigTag(d), s.sig[key]); err != nil {
			return fmt.Errorf("signature of %s: %w", key, err)
		}
		refs, err := referrers(dst + "/" + repo + "@" + d.String())
		if err != nil {
			return fmt.Errorf("referrers of %s: %w", key, err)
		}
		if !slices.ContainsFunc(refs, func(r v1.Descriptor) bool { return r.Digest == s.sbom[key] }) {
			return fmt.Errorf("referrers of %s at %s: %v, want the SBOM %s", key, dst, refs, s.sbom[key])
		}
	}
	return nil
}

// sigTag is cosign's tag for the signature of digest.
func sigTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex + ".sig" }

// referrers lists the referrers of ref (by digest) as a client sees them:
// the referrers API, else the referrers tag.
func referrers(ref string) ([]v1.Descriptor, error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return nil, err
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return m.Manifests, nil
}

func digestOf(ref string) (v1.Hash, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	d, err := remote.Head(r)
	if err != nil {
		return v1.Hash{}, err
	}
	return d.Digest, nil
}

func sortedKeys(m map[string]v1.Hash) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// orasArgv copies each tag with `oras cp`, four at a time like crane;
// recursive adds -r (the tag's referrers, here the SBOM) and copies the
// cosign signature's tag, which is no referrer, with its own `oras cp`.
// The signature tags are named from the tags' digests, as a script would
// after resolving them.
func orasArgv(oras string, recursive bool) func(src, dst, dir string, repos, tags []string) ([]string, error) {
	return func(src, dst, dir string, repos, tags []string) ([]string, error) {
		var b strings.Builder
		plain := "--from-plain-http --to-plain-http"
		for _, r := range repos {
			for _, t := range tags {
				if !recursive {
					fmt.Fprintf(&b, "%s %s/%s:%s %s/%s:%s\n", plain, src, r, t, dst, r, t)
					continue
				}
				fmt.Fprintf(&b, "-r %s %s/%s:%s %s/%s:%s\n", plain, src, r, t, dst, r, t)
				d, err := digestOf(src + "/" + r + ":" + t)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(&b, "%s %s/%s:%s %s/%s:%s\n", plain, src, r, sigTag(d), dst, r, sigTag(d))
			}
		}
		list := filepath.Join(dir, "oras.list")
		if err := os.WriteFile(list, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		return []string{"sh", "-c", `exec xargs -P4 -L1 "$0" cp <"$1"`, oras, list}, nil
	}
}

// regsyncReferrersArgv runs `regsync once` on the workload's v tags (the
// sha256-<hex> tags are left to referrers and digestTags), with
// referrers and cosign's digest tags when referrers is set.
func regsyncReferrersArgv(regsync string, referrers bool) func(src, dst, dir string, repos, tags []string) ([]string, error) {
	return func(src, dst, dir string, repos, _ []string) ([]string, error) {
		var b strings.Builder
		fmt.Fprintf(&b, "version: 1\ncreds:\n- registry: %s\n  tls: disabled\n- registry: %s\n  tls: disabled\n", src, dst)
		fmt.Fprintf(&b, "defaults:\n  parallel: 4\n  referrers: %t\n  digestTags: %t\nsync:\n", referrers, referrers)
		for _, r := range repos {
			fmt.Fprintf(&b, "- source: %s/%s\n  target: %s/%s\n  type: repository\n  tags:\n    allow: ['v.*']\n", src, r, dst, r)
		}
		cfg := filepath.Join(dir, "regsync.yaml")
		if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
			return nil, err
		}
		return []string{regsync, "once", "-c", cfg}, nil
	}
}

// printReferrers prints the referrers tables, cold and warm: each run
// against oras cp -r and against the same tool without referrers, then
// flux-mirror against issue 10's targets.
func printReferrers(out io.Writer, w *signed, fm *toolRun, runs []*toolRun) {
	fmt.Fprintf(out, "\nreferrers: the sync workload (%d repositories x %d tags), each tag's index with a cosign signature (sha256-<hex>.sig tag) and a small SPDX SBOM referrer (oras attach; the registry has no referrers API, so the sha256-<hex> referrers tag)\n",
		len(workloadRepos), len(workloadTags))
	fmt.Fprintf(out, "versions: %s\n", versions(*fmBin, "oras", "cosign", "regsync"))
	byName := map[string]*toolRun{}
	for _, r := range runs {
		byName[r.tool.name] = r
	}
	ref := byName[orasRecursive]
	refWall := func(s func(*toolRun) []testenv.Sample) time.Duration {
		if ref == nil || ref.err != nil {
			return 0
		}
		return testenv.Median(s(ref)).Wall
	}
	without := func(r *toolRun, s func(*toolRun) []testenv.Sample) string {
		o := byName[r.tool.without]
		if o == nil || o.err != nil || len(s(o)) == 0 {
			return "-"
		}
		return ratio(testenv.Median(s(r)).Wall, testenv.Median(s(o)).Wall)
	}
	printNote(out, fm)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row(tw, fmt.Sprintf("cold (median of %d, fresh destination)", *coldN), "wall", "range", "cpu", "peak", "vs oras cp -r",
		"vs without referrers", "uploads", "uploaded", "mounts", "dst manifest PUTs")
	timedRows(tw, runs, cold, refWall(cold), func(r *toolRun) []string {
		return []string{without(r, cold), fmt.Sprint(len(r.coldDst.uploads)), fmt.Sprintf("%.1f MiB", mibs(r.uploaded)),
			fmt.Sprint(r.coldDst.mounts), fmt.Sprint(r.coldDst.manifestPuts)}
	})
	tags := len(workloadRepos) * len(workloadTags)
	if *warmN > 0 {
		row(tw, fmt.Sprintf("warm re-run (median of %d)", *warmN), "wall", "range", "cpu", "peak", "vs oras cp -r",
			"vs without referrers", "dst blob", "dst manifest/tag", "dst tag lists", "src blob", "src manifest/tag", "src tag lists", "other")
		timedRows(tw, runs, warm, refWall(warm), func(r *toolRun) []string {
			return []string{without(r, warm), fmt.Sprint(r.warmDst.blobs), fmt.Sprintf("%.2f", per(r.warmDst.manifests, tags)),
				fmt.Sprint(r.warmDst.tagLists), fmt.Sprint(r.warmSrc.blobs), fmt.Sprintf("%.2f", per(r.warmSrc.manifests, tags)),
				fmt.Sprint(r.warmSrc.tagLists), fmt.Sprint(r.warmDst.other + r.warmSrc.other)}
		})
	}
	_ = tw.Flush()
	printFailures(out, runs)
	fmt.Fprintln(out, "vs without referrers: the same tool on the same source copying the tags alone (what includeReferrers costs); "+
		"oras cp -r does not follow cosign's .sig tags, so its run copies each with one more oras cp; manifest requests per tag count the referrers' too")
	fmt.Fprintln(out, "flux-mirror sync (includeReferrers) against issue 10's referrers targets:")
	if fm.note != "" || len(fm.cold) == 0 || fm.err != nil {
		fmt.Fprintf(out, "  %s\n", firstNonEmpty(fm.note, failure(fm.err)))
		return
	}
	if ref == nil || ref.err != nil {
		fmt.Fprintln(out, "  oras cp -r not measured: nothing to compare with")
		return
	}
	printRatioTargets(out, fm, fastest{ref.tool.name, refWall(cold)}, fastest{ref.tool.name, refWall(warm)})
	fmt.Fprintf(out, "  includeReferrers costs %s cold and %s warm of the same sync without referrers\n", without(fm, cold), without(fm, warm))
}
