package syncbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// BenchmarkSyncArchive: issue 8's workload carried over an air gap. Export
// from a real registry into files, then import from them into an empty
// registry, with flux-mirror (--to-archive/--from-archive, plain tar and
// zstd), oras (cp -r --to-oci-layout / --from-oci-layout, one run per tag,
// into one layout directory) and skopeo (copy --all into oci-archive:, one
// archive per tag). One cold run each; it prints wall time, peak memory
// of the largest process and what the files weigh, and asserts nothing
// about time.
//
//	go test -run '^$' -bench '^BenchmarkSyncArchive$' -benchtime 1x ./hack/bench/syncbench -args -fm "$PWD/bin/flux-mirror"
func BenchmarkSyncArchive(b *testing.B) {
	if *fmBin == "" {
		b.Fatal("-fm: the flux-mirror binary to measure is required")
	}
	src := testenv.StartSyncRegistry(b)
	w := pushWorkload(b, src.Host)
	oras, skopeo := testenv.Tool(b, "oras"), testenv.SystemTool(b, "skopeo", "skopeo")
	work := b.TempDir()
	var tags []string // repo:tag
	for _, r := range workloadRepos {
		for _, t := range workloadTags {
			tags = append(tags, r+":"+t)
		}
	}
	type row struct {
		tool         string
		export, impo testenv.Sample
		size         int64
		err          error
	}
	var rows []row
	for _, ext := range []string{".tar", ".tar.zst"} {
		dst := testenv.StartSyncRegistry(b)
		cfg := filepath.Join(work, "mirror"+ext+".yaml")
		must(b, os.WriteFile(cfg, []byte(workloadConfig(src.Host, dst.Host, workloadRepos, "")), 0o644))
		file := filepath.Join(work, "site"+ext)
		r := row{tool: "flux-mirror sync (" + ext + ")"}
		r.export, r.err = testenv.Measure(filepath.Join(work, "home"), []string{*fmBin, "sync", cfg, "--insecure", "--no-progress", "--to-archive", file})
		if r.err == nil {
			r.size = fileSize(file)
			r.impo, r.err = testenv.Measure(filepath.Join(work, "home"), []string{*fmBin, "sync", cfg, "--insecure", "--no-progress", "--from-archive", file})
		}
		if r.err == nil {
			r.err = w.verify(dst.Host)
		}
		rows = append(rows, r)
	}

	dst := testenv.StartSyncRegistry(b)
	layout := filepath.Join(work, "oras-layout")
	var exp, imp []string
	for _, t := range tags {
		lt := strings.NewReplacer("/", "_", ":", "_").Replace(t)
		exp = append(exp, fmt.Sprintf("%s cp -r --from-plain-http --to-oci-layout %s/%s %s:%s", oras, src.Host, t, layout, lt))
		imp = append(imp, fmt.Sprintf("%s cp -r --to-plain-http --from-oci-layout %s:%s %s/%s", oras, layout, lt, dst.Host, t))
	}
	r := row{tool: "oras cp (layout dir)"}
	r.export, r.err = testenv.Measure(filepath.Join(work, "home"), []string{"sh", "-ec", strings.Join(exp, "\n")})
	if r.err == nil {
		r.size = dirSize(layout)
		r.impo, r.err = testenv.Measure(filepath.Join(work, "home"), []string{"sh", "-ec", strings.Join(imp, "\n")})
	}
	if r.err == nil {
		r.err = w.verify(dst.Host)
	}
	rows = append(rows, r)

	dst = testenv.StartSyncRegistry(b)
	dir := filepath.Join(work, "skopeo")
	must(b, os.MkdirAll(dir, 0o755))
	exp, imp = nil, nil
	for _, t := range tags {
		f := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(t)+".tar")
		exp = append(exp, fmt.Sprintf("%s copy -q --all --preserve-digests --src-tls-verify=false docker://%s/%s oci-archive:%s", skopeo, src.Host, t, f))
		imp = append(imp, fmt.Sprintf("%s copy -q --all --preserve-digests --dest-tls-verify=false oci-archive:%s docker://%s/%s", skopeo, f, dst.Host, t))
	}
	r = row{tool: "skopeo copy (oci-archive per tag)"}
	r.export, r.err = testenv.Measure(filepath.Join(work, "home"), []string{"sh", "-ec", strings.Join(exp, "\n")})
	if r.err == nil {
		r.size = dirSize(dir)
		r.impo, r.err = testenv.Measure(filepath.Join(work, "home"), []string{"sh", "-ec", strings.Join(imp, "\n")})
	}
	if r.err == nil {
		r.err = w.verify(dst.Host)
	}
	rows = append(rows, r)

	fmt.Fprintf(os.Stdout, "\nArchives: %d tags (2-platform indexes), %.0f MiB of distinct blobs\n", len(tags), mibs(w.distinctBytes()))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tool\texport\texport peak\tfiles\timport\timport peak\tresult\t")
	for _, r := range rows {
		res := "all digests equal"
		if r.err != nil {
			res = failure(r.err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f MiB\t%s\t%s\t%s\t\n", r.tool, secs(r.export.Wall), peak(r.export), mibs(r.size), secs(r.impo.Wall), peak(r.impo), res)
	}
	tw.Flush()
}

func must(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return nil
	})
	return n
}
