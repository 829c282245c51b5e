package syncbench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// printSync prints the three tables (cold, warm, 1 GiB) side by side with
// the ratios to the fastest peer, then flux-mirror against issue 8's
// targets. Rows of a tool that failed say so instead of showing numbers
// that would look valid.
func printSync(out io.Writer, w *workload, fm *toolRun, runs, bigs []*toolRun) {
	distinct := w.distinctBytes()
	entries := len(workloadRepos)
	tags := entries * len(workloadTags)
	fmt.Fprintf(out, "sync: %d repositories x %d tags, 2-platform indexes, %d distinct blobs of %.1f MiB, between two registries on loopback\n",
		entries, len(workloadTags), len(w.blobs), mibs(distinct))
	fmt.Fprintf(out, "versions: %s\n", versions(*fmBin, "crane", "skopeo", "regsync"))
	fastCold, fastWarm := fastestPeers(runs, fm)

	printNote(out, fm)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row(tw, fmt.Sprintf("cold (median of %d, fresh destination)", *coldN), "wall", "range", "cpu", "peak", "vs fastest peer", "uploads", "uploaded", "x distinct", "distinct uploaded", "mounts")
	timedRows(tw, runs, cold, fastCold.wall, func(r *toolRun) []string {
		return []string{fmt.Sprint(len(r.coldDst.uploads)), fmt.Sprintf("%.1f MiB", mibs(r.uploaded)),
			fmt.Sprintf("%.2f", float64(r.uploaded)/float64(distinct)), fmt.Sprintf("%.1f MiB", mibs(r.distinct)), fmt.Sprint(r.coldDst.mounts)}
	})
	if *warmN > 0 {
		printWarm(tw, runs, fastWarm.wall, tags)
	}
	if len(bigs) > 0 {
		row(tw, "one image, one 1 GiB layer (median of 3)", "wall", "", "cpu", "peak")
		for _, r := range bigs {
			if r.bigCopy == nil {
				row(tw, r.tool.name, "failed", "", "-", "-")
				continue
			}
			row(tw, r.tool.name, secs(r.bigCopy.Wall), "", secs(r.bigCopy.CPU), peak(*r.bigCopy))
		}
	}
	_ = tw.Flush()
	printFailures(out, append(runs, bigs...))
	fmt.Fprintln(out, "peak: the largest single process (GNU time), so crane's is one of its four at a time; uploads: committed blob uploads at the destination (access log), each sending the whole blob; x distinct: uploaded bytes over the workload's distinct blob bytes")
	printTargets(out, fm, runs, bigs, w)
}

// printWarm writes the warm rows: timings and what both registries were
// asked.
func printWarm(tw io.Writer, runs []*toolRun, fastest time.Duration, tags int) {
	row(tw, fmt.Sprintf("warm re-run (median of %d)", *warmN), "wall", "range", "cpu", "peak", "vs fastest peer",
		"dst blob", "dst manifest/tag", "dst tag lists", "src blob", "src manifest/tag", "src tag lists", "other")
	timedRows(tw, runs, warm, fastest, func(r *toolRun) []string {
		return []string{fmt.Sprint(r.warmDst.blobs), fmt.Sprintf("%.2f", per(r.warmDst.manifests, tags)), fmt.Sprint(r.warmDst.tagLists),
			fmt.Sprint(r.warmSrc.blobs), fmt.Sprintf("%.2f", per(r.warmSrc.manifests, tags)), fmt.Sprint(r.warmSrc.tagLists),
			fmt.Sprint(r.warmDst.other + r.warmSrc.other)}
	})
}

// timedRows writes a row per run that has samples: median wall, range,
// CPU and peak, the ratio to ref, then cells. A failed run's row says
// "failed" (printFailures prints why, below the table: a long line in it
// would break the columns).
func timedRows(tw io.Writer, runs []*toolRun, samples func(*toolRun) []testenv.Sample, ref time.Duration, cells func(*toolRun) []string) {
	for _, r := range runs {
		c := cells(r)
		switch s := samples(r); {
		case r.err != nil:
			row(tw, r.tool.name, append([]string{"failed"}, slices.Repeat([]string{"-"}, 4+len(c))...)...)
		case len(s) > 0:
			m := testenv.Median(s)
			row(tw, r.tool.name, append([]string{secs(m.Wall), spread(s), secs(m.CPU), peak(m), ratio(m.Wall, ref)}, c...)...)
		}
	}
}

// printNote says why flux-mirror is not measured, above its tables.
func printNote(out io.Writer, fm *toolRun) {
	if fm.note != "" {
		fmt.Fprintf(out, "%s: %s\n", fm.tool.name, fm.note)
	}
}

// printFailures says why each failed run failed, one line each.
func printFailures(out io.Writer, runs []*toolRun) {
	seen := map[string]bool{}
	for _, r := range runs {
		if r.err != nil && !seen[r.tool.name] {
			seen[r.tool.name] = true
			fmt.Fprintf(out, "%s: %s\n", r.tool.name, failure(r.err))
		}
	}
}

func cold(r *toolRun) []testenv.Sample { return r.cold }
func warm(r *toolRun) []testenv.Sample { return r.warm }

// row writes one table row: the label left-aligned (padded to one width),
// the cells right-aligned. A single cell is a note or an error and is left
// out of the alignment.
func row(tw io.Writer, label string, cells ...string) {
	fmt.Fprintf(tw, "%-40s\t", label)
	if len(cells) == 1 {
		fmt.Fprintf(tw, "%s\n", cells[0])
		return
	}
	fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t"))
}

// failure is an error on one line, so that it does not break the table.
func failure(err error) string {
	s := strings.Join(strings.Fields(fmt.Sprint(err)), " ")
	if len(s) > 240 {
		s = s[:240] + "..."
	}
	return "failed: " + s
}

// printTargets compares flux-mirror with issue 8's targets, one line each.
func printTargets(out io.Writer, fm *toolRun, runs, bigs []*toolRun, w *workload) {
	entries, tags := len(workloadRepos), len(workloadRepos)*len(workloadTags)
	fmt.Fprintln(out, "flux-mirror sync against issue 8's targets:")
	if fm.note != "" || len(fm.cold) == 0 || fm.err != nil {
		fmt.Fprintf(out, "  %s\n", firstNonEmpty(fm.note, failure(fm.err)))
		return
	}
	cold, warm := fastestPeers(runs, fm)
	c, wm := testenv.Median(fm.cold), testenv.Median(fm.warm)
	if cold.name == "" {
		fmt.Fprintln(out, "  cold and warm: no peer measured to compare with")
	} else {
		fmt.Fprintf(out, "  cold wall <= 0.8x the fastest peer (%s): %s, %s\n", cold.name, ratio(c.Wall, cold.wall), met(float64(c.Wall) <= 0.8*float64(cold.wall)))
	}
	if warm.name != "" && len(fm.warm) > 0 {
		fmt.Fprintf(out, "  warm wall <= 1.0x the fastest peer (%s): %s, %s\n", warm.name, ratio(wm.Wall, warm.wall), met(wm.Wall <= warm.wall))
	}
	d, s := fm.warmDst, fm.warmSrc
	fmt.Fprintf(out, "  warm requests: no blob request, <= 1 manifest request per tag per side, 1 tag list per entry: dst %d blob, %.2f manifest/tag, %d tag lists; src %d blob, %.2f manifest/tag, %d tag lists: %s\n",
		d.blobs, per(d.manifests, tags), d.tagLists, s.blobs, per(s.manifests, tags), s.tagLists,
		met(d.blobs+s.blobs == 0 && d.manifests <= tags && s.manifests <= tags && d.tagLists+s.tagLists <= entries))
	fmt.Fprintf(out, "  each distinct blob uploaded once: %d uploads (%d mounts) for %d distinct blobs, %.2fx the distinct bytes: %s\n",
		len(fm.coldDst.uploads), fm.coldDst.mounts, len(w.blobs), float64(fm.uploaded)/float64(w.distinctBytes()),
		met(len(fm.coldDst.uploads) == len(w.blobs) && fm.uploaded == w.distinctBytes()))
	for _, r := range bigs {
		if r.tool.name == fm.tool.name && r.bigCopy != nil {
			fmt.Fprintf(out, "  1 GiB copy peak <= 64 MiB: %s, %s\n", peak(*r.bigCopy), met(r.bigCopy.RSSKiB <= 64<<10))
		}
	}
}

// fastest is the fastest peer's name and median wall time.
type fastest struct {
	name string
	wall time.Duration
}

// fastestPeers returns the fastest peer, cold and warm (flux-mirror's
// runs are not peers).
func fastestPeers(runs []*toolRun, fm *toolRun) (cold, warm fastest) {
	for _, r := range runs {
		if r == fm || strings.HasPrefix(r.tool.name, "flux-mirror") || r.err != nil {
			continue
		}
		if c := testenv.Median(r.cold).Wall; cold.name == "" || c < cold.wall {
			cold = fastest{r.tool.name, c}
		}
		if w := testenv.Median(r.warm).Wall; len(r.warm) > 0 && (warm.name == "" || w < warm.wall) {
			warm = fastest{r.tool.name, w}
		}
	}
	return cold, warm
}

// spread is the fastest and slowest wall time of s: a wide one says the
// machine was noisy.
func spread(s []testenv.Sample) string {
	lo, hi := s[0].Wall, s[0].Wall
	for _, x := range s[1:] {
		lo, hi = min(lo, x.Wall), max(hi, x.Wall)
	}
	return fmt.Sprintf("%.3f-%.3f", lo.Seconds(), hi.Seconds())
}

func secs(d time.Duration) string  { return fmt.Sprintf("%.3f s", d.Seconds()) }
func peak(s testenv.Sample) string { return fmt.Sprintf("%.0f MiB", float64(s.RSSKiB)/1024) }
func mibs(n int64) float64         { return float64(n) / mib }
func per(n, of int) float64        { return float64(n) / float64(of) }

func ratio(d, fastest time.Duration) string {
	if fastest == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(d)/float64(fastest))
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
