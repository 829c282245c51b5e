package syncbench

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

var (
	fmBin = flag.String("fm", "", "flux-mirror binary (absolute path); measured only when it has a sync command")
	warmN = flag.Int("warm", 10, "timed warm re-runs per tool")
	coldN = flag.Int("cold", 3, "cold runs per tool, each into a fresh destination registry")
	big   = flag.Bool("big", true, "also copy one image with a single 1 GiB layer")
	only  = flag.String("tools", "flux-mirror,crane,skopeo,regsync,helm,oras,cosign", "the tools to measure, by the first word of their name")
	hold  = flag.Duration("hold", 0, "after the warm runs, keep the registries up this long and print each tool's warm command, to time or trace it by hand")
)

// selected reports whether -tools names the tool.
func selected(t syncTool) bool {
	first, _, _ := strings.Cut(t.name, " ")
	for _, n := range strings.Split(*only, ",") {
		if strings.TrimSpace(n) == first {
			return true
		}
	}
	return false
}

// toolRun is what was measured of one tool.
type toolRun struct {
	tool     syncTool
	err      error  // the tool failed or copied wrong digests: no numbers are shown
	note     string // why it was not measured
	cold     []testenv.Sample
	coldSrc  traffic
	coldDst  traffic
	warm     []testenv.Sample
	warmDst  traffic
	warmSrc  traffic
	dst      *testenv.SyncRegistry // the last cold destination, re-run warm
	home     string
	bigCopy  *testenv.Sample
	uploaded int64 // bytes of the committed uploads at the destination, repeats included
	distinct int64 // bytes of the distinct blobs those uploads committed
}

// BenchmarkSync prints the sync tables; see the package comment.
func BenchmarkSync(b *testing.B) {
	needTime(b)
	src := testenv.StartSyncRegistry(b)
	start := time.Now()
	w := pushWorkload(b, src.Host)
	progress("workload pushed in %s", time.Since(start).Round(time.Millisecond))

	j := &job{src: src.Host, repos: workloadRepos, tags: workloadTags,
		srcLog: func() []testenv.AccessLine { return src.AccessLog(b) },
		verify: func(dst string, _ syncTool) error { return w.verify(dst) }}
	fm, runs := tools([]func(string) syncTool{func(bin string) syncTool { return fluxMirrorTool(bin, false) }}, peerTools(b))
	measureRuns(b, j, runs)
	if *hold > 0 {
		holdRegistries(b, j, runs)
	}
	var bigs []*toolRun
	if *big {
		if fm.note == "" {
			bigs = append(bigs, &toolRun{tool: fm.tool})
		}
		if crane := (syncTool{name: "crane copy", argv: craneCopy(testenv.Tool(b, "crane"))}); selected(crane) {
			bigs = append(bigs, &toolRun{tool: crane})
		}
		if len(bigs) > 0 {
			bigRuns(b, src, bigs)
		}
	}
	printSync(os.Stdout, w, fm, runs, bigs)
	failRuns(b, append(runs, bigs...))
}

// needTime fails the benchmark without GNU time, which measures the runs.
func needTime(b *testing.B) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Fatal("GNU time is missing: apt-get install time (hack/testenv.sh installs it)")
	}
}

// tools returns flux-mirror's headline run (with a note when it is not
// measured) and every tool to measure: flux-mirror's variants first when
// it is, then the selected peers. A peer that is missing fails the
// benchmark before anything runs.
func tools(fmVariants []func(fm string) syncTool, peers []syncTool) (fm *toolRun, runs []*toolRun) {
	fm = &toolRun{tool: syncTool{name: "flux-mirror sync"}}
	switch {
	case !selected(fm.tool):
		fm.note = "not measured: not in -tools"
	case *fmBin == "":
		fm.note = "not measured: no -fm binary given"
	default:
		for i, v := range fmVariants {
			r := &toolRun{tool: v(*fmBin)}
			if i == 0 {
				fm = r
			}
			runs = append(runs, r)
		}
	}
	for _, t := range peers {
		if selected(t) {
			runs = append(runs, &toolRun{tool: t})
		}
	}
	return fm, runs
}

// job is one workload as the tools see it: the source they read (a
// registry host or a chart repository URL), the repositories and tags they
// copy, the source's requests so far, and the check of a copy.
type job struct {
	src         string
	repos, tags []string
	srcLog      func() []testenv.AccessLine
	verify      func(dst string, t syncTool) error
}

// failRuns fails the benchmark with each tool run that failed, after the
// table has been printed.
func failRuns(b *testing.B, runs []*toolRun) {
	for _, r := range runs {
		if r.err != nil {
			b.Errorf("%s: %v", r.tool.name, r.err)
		}
	}
}

// measureRuns runs every tool cold (-cold times) and warm (-warm times).
func measureRuns(b *testing.B, j *job, runs []*toolRun) {
	for rep := range *coldN {
		for _, r := range runs {
			if r.err == nil {
				r.err = coldRun(b, j, r, rep)
			}
		}
	}
	// Round robin, so that the machine's drift hits every tool alike; the
	// first, untimed, round is the one whose requests are counted.
	for i := -1; i < *warmN; i++ {
		for _, r := range runs {
			if r.err == nil {
				r.err = warmRun(b, j, r, i < 0)
			}
		}
	}
}

// coldRun copies the workload into a fresh destination with a fresh HOME
// (no cache a tool kept from an earlier run), checks the copy and, the
// first time, counts what the destination received. The last repetition's
// destination and HOME stay for the warm runs.
func coldRun(b *testing.B, j *job, r *toolRun, rep int) error {
	dst := testenv.StartSyncRegistry(b)
	r.home = b.TempDir()
	argv, err := r.tool.argv(j.src, dst.Host, r.home, j.repos, j.tags)
	if err != nil {
		return err
	}
	var srcBefore int
	if rep == 0 {
		srcBefore = len(j.srcLog())
	}
	s, err := testenv.Measure(r.home, argv)
	if err != nil {
		return err
	}
	progress("%s cold #%d: %s", r.tool.name, rep+1, s.Wall.Round(time.Millisecond))
	r.cold = append(r.cold, s)
	if err := j.verify(dst.Host, r.tool); err != nil {
		return err
	}
	if rep == 0 {
		r.coldSrc = countTraffic(j.srcLog()[srcBefore:])
		r.coldDst = countTraffic(dst.AccessLog(b))
		seen := map[string]bool{}
		for _, d := range r.coldDst.uploads {
			size, err := blobSize(dst, d)
			if err != nil {
				return err
			}
			r.uploaded += size
			if !seen[d] {
				seen[d] = true
				r.distinct += size
			}
		}
	}
	r.dst = dst
	return nil
}

// blobSize reads a committed blob's size from the registry's storage.
func blobSize(r *testenv.SyncRegistry, digest string) (int64, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return 0, fmt.Errorf("upload of %q: %w", digest, err)
	}
	st, err := os.Stat(filepath.Join(r.BlobsDir(), h.Algorithm, h.Hex[:2], h.Hex, "data"))
	if err != nil {
		return 0, fmt.Errorf("committed upload not in storage: %w", err)
	}
	return st.Size(), nil
}

// warmRun re-runs the tool against its up-to-date destination. A counted
// run records the requests both registries received and is not timed.
func warmRun(b *testing.B, j *job, r *toolRun, count bool) error {
	argv, err := r.tool.argv(j.src, r.dst.Host, r.home, j.repos, j.tags)
	if err != nil {
		return err
	}
	var srcBefore, dstBefore int
	if count {
		srcBefore, dstBefore = len(j.srcLog()), len(r.dst.AccessLog(b))
	}
	s, err := testenv.Measure(r.home, argv)
	if err != nil {
		return err
	}
	if !count {
		r.warm = append(r.warm, s)
		return nil
	}
	r.warmSrc = countTraffic(j.srcLog()[srcBefore:])
	r.warmDst = countTraffic(r.dst.AccessLog(b)[dstBefore:])
	return nil
}

// bigRounds is how many times each tool copies the 1 GiB image.
const bigRounds = 3

// bigRuns pushes the 1 GiB image and copies it with each tool into a fresh
// destination, bigRounds times, the tools taking turns, and keeps each
// tool's median. Dirty pages are flushed before every copy: the first copy
// after the 1 GiB push otherwise pays for writing the push back to disk.
func bigRuns(b *testing.B, src *testenv.SyncRegistry, runs []*toolRun) {
	start := time.Now()
	want := pushBig(b, src.Host)
	progress("1 GiB image pushed in %s", time.Since(start).Round(time.Millisecond))
	samples := make([][]testenv.Sample, len(runs))
	for round := 0; round < bigRounds; round++ {
		for i, r := range runs {
			if r.err != nil {
				continue
			}
			dst := testenv.StartSyncRegistry(b)
			home := b.TempDir()
			argv, err := r.tool.argv(src.Host, dst.Host, home, []string{bigRepo}, []string{bigTag})
			if err == nil {
				syscall.Sync()
				var s testenv.Sample
				if s, err = testenv.Measure(home, argv); err == nil {
					samples[i] = append(samples[i], s)
					err = sameDigest(dst.Host+"/"+bigRepo+":"+bigTag, want)
				}
			}
			if err != nil {
				r.err = fmt.Errorf("1 GiB copy: %w", err)
			}
			// Free the disk now rather than at the end.
			_ = os.RemoveAll(dst.Storage())
		}
	}
	for i, r := range runs {
		if len(samples[i]) > 0 {
			m := testenv.Median(samples[i])
			r.bigCopy = &m
		}
	}
}

// traffic sums what one run asked of one registry.
type traffic struct {
	blobs, manifests, tagLists, other int
	// indexes and archives are a chart repository's index.yaml and .tgz
	// downloads.
	indexes, archives int
	manifestPuts      int // manifests written
	// uploads are the digests of committed blob uploads: each sent the
	// whole blob.
	uploads []string
	mounts  int // cross-repository mounts: no bytes sent
}

func countTraffic(reqs []testenv.AccessLine) traffic {
	t := traffic{
		blobs:     testenv.CountRequests(reqs, "", `/blobs/`, 0),
		manifests: testenv.CountRequests(reqs, "", `/manifests/`, 0),
		tagLists:  testenv.CountRequests(reqs, "", `/tags/list`, 0),
	}
	t.manifestPuts = testenv.CountRequests(reqs, "PUT", `/manifests/`, 201)
	t.indexes = testenv.CountRequests(reqs, "GET", `/index\.yaml$`, 200)
	t.archives = testenv.CountRequests(reqs, "GET", `\.tgz$`, 200)
	t.other = len(reqs) - t.blobs - t.manifests - t.tagLists - t.indexes - t.archives // /v2/ pings, the catalog
	_, t.mounts = testenv.Uploads(reqs)
	// The committed uploads as testenv.Uploads counts them, by digest.
	for _, q := range reqs {
		if q.Status != 201 || q.Method != "PUT" && q.Method != "POST" || !strings.Contains(q.Path, "/blobs/uploads/") {
			continue
		}
		if _, query, ok := strings.Cut(q.Path, "?"); ok {
			if v, err := url.ParseQuery(query); err == nil && v.Get("digest") != "" {
				t.uploads = append(t.uploads, v.Get("digest"))
			}
		}
	}
	return t
}

// holdRegistries prints each tool's warm command (its config written again)
// and waits for -hold.
func holdRegistries(b *testing.B, j *job, runs []*toolRun) {
	for _, r := range runs {
		if r.err != nil {
			continue
		}
		argv, err := r.tool.argv(j.src, r.dst.Host, r.home, j.repos, j.tags)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("hold: %s: HOME=%s %s\n", r.tool.name, r.home, strings.Join(argv, " "))
	}
	fmt.Printf("hold: registries up for %s\n", *hold)
	time.Sleep(*hold)
}

// progress tells on stderr how far the benchmark is, as it goes (the
// testing package would hold b.Log lines back and cut them).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "syncbench: "+format+"\n", args...)
}
