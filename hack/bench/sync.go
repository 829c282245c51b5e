package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// syncOptions are the sync benchmark's knobs (go run ./hack/bench -sync).
type syncOptions struct {
	fm   string // flux-mirror binary; measured only when it has sync
	warm int    // timed warm re-runs per tool
	cold int    // cold runs per tool, each into a fresh destination
	big  bool   // also copy one image with a single 1 GiB layer
}

// toolRun is what was measured of one tool.
type toolRun struct {
	tool     syncTool
	err      error // the tool failed or copied wrong digests; its numbers are partial
	note     string
	cold     []sample
	coldDst  traffic
	uploaded int64 // bytes of committed uploads at the destination, repeats included
	distinct int64 // bytes of the distinct blobs those uploads committed
	warm     []sample
	warmDst  traffic
	warmSrc  traffic
	dst      *testenv.Registry // the last cold destination, re-run warm
	home     string
	big      *sample
}

// bench is the running source registry and what was pushed to it.
type bench struct {
	dir string
	src *testenv.Registry
	w   *workload
}

func runSync(o syncOptions) error {
	dir, err := os.MkdirTemp("", "flux-mirror-syncbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src, err := testenv.StartPlainRegistry(mkdir(dir, "src"))
	if err != nil {
		return err
	}
	defer src.Stop()
	ctx := context.Background()
	start := time.Now()
	w, err := pushWorkload(ctx, src.Host)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: workload pushed in %s\n", time.Since(start).Round(time.Millisecond))
	b := &bench{dir: dir, src: src, w: w}

	runs := []*toolRun{}
	fmRun := &toolRun{tool: syncTool{name: "flux-mirror sync"}}
	if hasSync(o.fm) {
		fmRun.tool = fluxMirrorTool(o.fm)
		runs = append(runs, fmRun)
	} else {
		fmRun.note = "sync not built yet (" + o.fm + " has no sync command)"
	}
	for _, t := range peerTools(testenv.BinDir()) {
		runs = append(runs, &toolRun{tool: t})
	}
	defer func() {
		for _, r := range runs {
			if r.dst != nil {
				r.dst.Stop()
			}
		}
	}()
	for rep := range o.cold {
		for _, r := range runs {
			if r.err == nil {
				r.err = b.coldRun(r, rep, rep == o.cold-1)
			}
		}
	}
	for i := -1; i < o.warm; i++ { // round robin, so that drift hits every tool alike
		for _, r := range runs {
			if r.err == nil {
				r.err = b.warmRun(r, i < 0)
			}
		}
	}
	var bigs []*toolRun
	if o.big {
		if fmRun.note == "" {
			bigs = append(bigs, &toolRun{tool: fmRun.tool})
		}
		bigs = append(bigs, &toolRun{tool: syncTool{"crane copy", craneCopy(filepath.Join(testenv.BinDir(), "crane"))}})
		if err := b.bigRuns(ctx, bigs); err != nil {
			return err
		}
	}
	printSync(os.Stdout, o, w, fmRun, runs, bigs)
	for _, r := range append(runs, bigs...) {
		if r.err != nil {
			return fmt.Errorf("%s: %w", r.tool.name, r.err)
		}
	}
	return nil
}

// coldRun copies the workload into a fresh destination and counts what the
// destination received. The last repetition's destination is kept for the
// warm runs.
func (b *bench) coldRun(r *toolRun, rep int, keep bool) error {
	tag := strings.Fields(r.tool.name)[0]
	dst, err := testenv.StartPlainRegistry(mkdir(b.dir, fmt.Sprintf("%s-cold%d", tag, rep)))
	if err != nil {
		return err
	}
	r.home = mkdir(b.dir, tag+"-home")
	argv, err := r.tool.argv(b.src.Host, dst.Host, r.home, workloadRepos, workloadTags)
	if err != nil {
		dst.Stop()
		return err
	}
	mark := markLog(dst.LogPath())
	s, err := measure(r.home, argv)
	fmt.Fprintf(os.Stderr, "bench: %s cold #%d: %s\n", r.tool.name, rep+1, s.wall.Round(time.Millisecond))
	if err == nil {
		err = b.checkDigests(dst)
	}
	if err == nil && rep == 0 {
		err = r.countCold(dst, mark)
	}
	r.cold = append(r.cold, s)
	if keep && err == nil {
		r.dst = dst
		return nil
	}
	dst.Stop()
	_ = os.RemoveAll(dst.Dir)
	return err
}

func (r *toolRun) countCold(dst *testenv.Registry, mark logMark) error {
	reqs, err := requestsSince(mark)
	if err != nil {
		return err
	}
	r.coldDst = countTraffic(reqs)
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
	return nil
}

// blobSize reads a committed blob's size from the registry's storage.
func blobSize(r *testenv.Registry, digest string) (int64, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return 0, fmt.Errorf("upload of %q: %w", digest, err)
	}
	st, err := os.Stat(r.BlobPath(h.Hex))
	if err != nil {
		return 0, fmt.Errorf("committed upload not in storage: %w", err)
	}
	return st.Size(), nil
}

// warmRun re-runs the tool against its up-to-date destination; the first
// (untimed) one is the one whose requests are counted on both sides.
func (b *bench) warmRun(r *toolRun, count bool) error {
	argv, err := r.tool.argv(b.src.Host, r.dst.Host, r.home, workloadRepos, workloadTags)
	if err != nil {
		return err
	}
	srcMark, dstMark := markLog(b.src.LogPath()), markLog(r.dst.LogPath())
	s, err := measure(r.home, argv)
	if err != nil {
		return err
	}
	if !count {
		r.warm = append(r.warm, s)
		return nil
	}
	srcReqs, err := requestsSince(srcMark)
	if err != nil {
		return err
	}
	dstReqs, err := requestsSince(dstMark)
	if err != nil {
		return err
	}
	r.warmSrc, r.warmDst = countTraffic(srcReqs), countTraffic(dstReqs)
	return nil
}

// checkDigests fails unless every repo:tag at dst is the source's index.
func (b *bench) checkDigests(dst *testenv.Registry) error {
	for key, want := range b.w.index {
		if err := sameDigest(dst.Host+"/"+key, want); err != nil {
			return err
		}
	}
	return nil
}

// bigRuns pushes the 1 GiB image and copies it once with each tool into a
// fresh destination, removed afterwards (disk).
func (b *bench) bigRuns(ctx context.Context, runs []*toolRun) error {
	start := time.Now()
	want, err := pushBig(ctx, b.src.Host)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: 1 GiB image pushed in %s\n", time.Since(start).Round(time.Millisecond))
	for i, r := range runs {
		dst, err := testenv.StartPlainRegistry(mkdir(b.dir, fmt.Sprintf("big%d", i)))
		if err != nil {
			return err
		}
		home := mkdir(b.dir, fmt.Sprintf("big%d-home", i))
		argv, err := r.tool.argv(b.src.Host, dst.Host, home, []string{bigRepo}, []string{bigTag})
		if err == nil {
			var s sample
			if s, err = measure(home, argv); err == nil {
				r.big = &s
				err = sameDigest(dst.Host+"/"+bigRepo+":"+bigTag, want)
			}
		}
		if err != nil && r.err == nil {
			r.err = fmt.Errorf("1 GiB copy: %w", err)
		}
		dst.Stop()
		_ = os.RemoveAll(dst.Dir)
	}
	return nil
}

func sameDigest(ref string, want v1.Hash) error {
	t, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	d, err := remote.Head(t)
	if err != nil {
		return fmt.Errorf("read back %s: %w", ref, err)
	}
	if d.Digest != want {
		return fmt.Errorf("%s is %s, the source has %s", ref, d.Digest, want)
	}
	return nil
}

func mkdir(parent, name string) string {
	d := filepath.Join(parent, name)
	_ = os.MkdirAll(d, 0o700)
	return d
}
