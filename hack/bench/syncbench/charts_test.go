package syncbench

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// Issue 10's chart workload: one chart in 20 versions of about 1 MiB each
// (a file of random bytes, so gzip cannot shrink it), on an HTTP chart
// repository, mirrored under <registry>/charts.
const (
	chartName     = "bench"
	chartCount    = 20
	chartDataSize = 1 * mib
	chartPath     = "charts"
	// chartLayerType is the media type of a Helm OCI chart's archive layer.
	chartLayerType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	// issueLoop is the peer issue 10 names: helm pull + helm push in a loop.
	issueLoop = "helm pull + push, one by one"
)

// BenchmarkSyncCharts prints the charts tables; see the package comment.
func BenchmarkSyncCharts(b *testing.B) {
	needTime(b)
	helm := testenv.Tool(b, "helm")
	start := time.Now()
	repo := makeChartRepo(b)
	progress("chart repository of %d versions made in %s", len(repo.versions), time.Since(start).Round(time.Millisecond))
	j := &job{src: repo.url, repos: []string{chartName}, tags: repo.versions,
		srcLog: func() []testenv.AccessLine { return nginxLog(b, repo.nginx) },
		verify: func(dst string, _ syncTool) error { return repo.verify(dst) }}
	fm, runs := tools([]func(string) syncTool{fluxMirrorChartsTool}, []syncTool{
		{name: issueLoop, argv: helmLoop(helm, false, 1)},
		{name: "helm pull + push, 4 at a time", argv: helmLoop(helm, false, 4)},
		{name: "helm show || pull + push, one by one", argv: helmLoop(helm, true, 1)},
		{name: "helm show || pull + push, 4 at a time", argv: helmLoop(helm, true, 4)},
	})
	measureRuns(b, j, runs)
	printCharts(os.Stdout, repo, fm, runs)
	failRuns(b, runs)
}

// chartRepo is the HTTP chart repository the chart tools read.
type chartRepo struct {
	url      string
	nginx    *testenv.Nginx
	versions []string
	digests  map[string]v1.Hash // version -> sha256 of its archive
	bytes    int64              // of every archive
}

// makeChartRepo packages the chart's versions with the real helm CLI,
// indexes them with `helm repo index` (the test kit's chart repository)
// and serves them with nginx.
func makeChartRepo(b *testing.B) *chartRepo {
	var charts []testenv.HelmChart
	for i := range chartCount {
		charts = append(charts, testenv.HelmChart{Name: chartName, Version: fmt.Sprintf("1.%d.0", i), Padding: chartDataSize})
	}
	root := testenv.MakeChartRepository(b, charts...)
	n := testenv.StartNginxStatic(b, root, testenv.NginxOptions{})
	repo := &chartRepo{url: "http://" + n.Host, nginx: n, digests: map[string]v1.Hash{}}
	for _, c := range charts {
		raw, err := os.ReadFile(filepath.Join(root, c.Name+"-"+c.Version+".tgz"))
		if err != nil {
			b.Fatal(err)
		}
		repo.versions = append(repo.versions, c.Version)
		repo.digests[c.Version] = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(raw))}
		repo.bytes += int64(len(raw))
	}
	return repo
}

// verify is nil when every version is at dst/charts/<name>:<version> with
// the repository's archive as its chart layer (the bytes helm pulls back).
func (c *chartRepo) verify(dst string) error {
	for _, v := range c.versions {
		ref, err := name.ParseReference(dst + "/" + chartPath + "/" + chartName + ":" + v)
		if err != nil {
			return err
		}
		img, err := remote.Image(ref)
		if err != nil {
			return fmt.Errorf("chart %s: %w", ref, err)
		}
		m, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("chart %s: %w", ref, err)
		}
		if len(m.Layers) != 1 || m.Layers[0].MediaType != chartLayerType || m.Layers[0].Digest != c.digests[v] {
			return fmt.Errorf("chart %s: layers %v, want one %s layer %s", ref, m.Layers, chartLayerType, c.digests[v])
		}
	}
	return nil
}

// fluxMirrorChartsTool runs `flux-mirror sync` with one charts entry per
// chart, keeping every version.
func fluxMirrorChartsTool(fm string) syncTool {
	return syncTool{name: "flux-mirror sync", argv: func(src, dst, dir string, charts, _ []string) ([]string, error) {
		var b strings.Builder
		b.WriteString("apiVersion: mirror.plugin.fluxcd.io/v1beta2\nkind: Config\ncharts:\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "- name: %s\n  source: %s\n  destination: oci://%s/%s\n  limit: 0\n", c, src, dst, chartPath)
		}
		return fluxMirrorArgv(fm, dir, b.String())
	}}
}

// helmLoop is what a user scripts with the helm CLI alone: add the
// repository (which downloads its index), then for each version `helm
// pull` from it and `helm push` to the registry, parallel at a time
// (xargs -P). Helm has no "skip if present", so with check each version
// is first looked up at the destination with `helm show chart oci://...`
// (which reads the chart from the registry) and pulled and pushed only
// when that fails. Helm's homes are under dir, so a fresh dir is a cold
// cache.
func helmLoop(helm string, check bool, parallel int) func(src, dst, dir string, charts, versions []string) ([]string, error) {
	return func(src, dst, dir string, charts, versions []string) ([]string, error) {
		if len(charts) != 1 {
			return nil, fmt.Errorf("helm loop: one chart, not %q", charts)
		}
		c := charts[0]
		var one strings.Builder // one version, $1, in the environment below
		fmt.Fprintf(&one, "set -eu\nhelm=%q\ndir=%q\nv=$1\n", helm, dir)
		if check {
			fmt.Fprintf(&one, "\"$helm\" show chart oci://%s/%s/%s --version \"$v\" --plain-http >/dev/null 2>&1 && exit 0\n", dst, chartPath, c)
		}
		fmt.Fprintf(&one, "\"$helm\" pull src/%s --version \"$v\" -d \"$dir/pull\"\n", c)
		fmt.Fprintf(&one, "\"$helm\" push \"$dir/pull/%s-$v.tgz\" oci://%s/%s --plain-http\n", c, dst, chartPath)

		var all strings.Builder
		fmt.Fprintf(&all, "set -eu\nhelm=%q\ndir=%q\n", helm, dir)
		for _, kv := range testenv.HelmHome(dir) {
			fmt.Fprintf(&all, "export %q\n", kv)
		}
		fmt.Fprintf(&all, "\"$helm\" repo add src %q --force-update >/dev/null\n", src)
		all.WriteString("rm -rf \"$dir/pull\" && mkdir \"$dir/pull\"\n")
		fmt.Fprintf(&all, "printf '%%s\\n' %s | xargs -P%d -n1 sh \"$dir/helm-one.sh\"\n", strings.Join(versions, " "), parallel)
		if err := os.WriteFile(filepath.Join(dir, "helm-one.sh"), []byte(one.String()), 0o600); err != nil {
			return nil, err
		}
		script := filepath.Join(dir, "helm-loop.sh")
		if err := os.WriteFile(script, []byte(all.String()), 0o600); err != nil {
			return nil, err
		}
		return []string{"sh", script}, nil
	}
}

// nginxLog reads nginx's access log (settled) as registry access lines
// (method, path, status).
func nginxLog(b *testing.B, n *testenv.Nginx) []testenv.AccessLine {
	var out []testenv.AccessLine
	for _, l := range n.AccessLog(b) {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		var status int
		if _, err := fmt.Sscan(f[2], &status); err != nil {
			continue
		}
		out = append(out, testenv.AccessLine{Method: f[0], Path: f[1], Status: status})
	}
	return out
}

// printCharts prints the charts tables, cold and warm, with the ratios to
// the fastest helm loop, then flux-mirror against issue 10's targets.
func printCharts(out io.Writer, repo *chartRepo, fm *toolRun, runs []*toolRun) {
	fmt.Fprintf(out, "\ncharts: one chart in %d versions, %.1f MiB of archives, from an HTTP chart repository (nginx) into a registry on loopback\n",
		len(repo.versions), mibs(repo.bytes))
	fmt.Fprintf(out, "versions: %s\n", versions(*fmBin, "helm", "nginx"))
	fastCold, fastWarm := fastestPeers(runs, fm)
	printNote(out, fm)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	row(tw, fmt.Sprintf("cold (median of %d, fresh destination)", *coldN), "wall", "range", "cpu", "peak", "vs fastest peer",
		"src index", "src archives", "uploads", "uploaded")
	timedRows(tw, runs, cold, fastCold.wall, func(r *toolRun) []string {
		return []string{fmt.Sprint(r.coldSrc.indexes), fmt.Sprint(r.coldSrc.archives), fmt.Sprint(len(r.coldDst.uploads)),
			fmt.Sprintf("%.1f MiB", mibs(r.uploaded))}
	})
	if *warmN > 0 {
		row(tw, fmt.Sprintf("warm re-run (median of %d)", *warmN), "wall", "range", "cpu", "peak", "vs fastest peer",
			"src index", "src archives", "dst blob", "dst manifest", "uploads")
		timedRows(tw, runs, warm, fastWarm.wall, func(r *toolRun) []string {
			return []string{fmt.Sprint(r.warmSrc.indexes), fmt.Sprint(r.warmSrc.archives), fmt.Sprint(r.warmDst.blobs),
				fmt.Sprint(r.warmDst.manifests), fmt.Sprint(len(r.warmDst.uploads))}
		})
	}
	_ = tw.Flush()
	printFailures(out, runs)
	fmt.Fprintln(out, "helm has no \"skip if present\": \"helm pull + push\" pulls and pushes every version again on a re-run; \"helm show || pull + push\" first tries the cheapest check helm itself offers, "+
		"`helm show chart oci://<dst>/charts/<name> --version V` (it reads the chart from the registry: dst blob), and pulls and pushes only the versions it cannot show; "+
		"one by one is the issue's loop, 4 at a time (xargs -P4) the stronger peer. "+
		"src archives: .tgz downloads from the chart repository; uploads: committed blob uploads at the destination")
	fmt.Fprintln(out, "flux-mirror sync against issue 10's chart targets:")
	if fm.note != "" || len(fm.cold) == 0 || fm.err != nil {
		fmt.Fprintf(out, "  %s\n", firstNonEmpty(fm.note, failure(fm.err)))
		return
	}
	printRatioTargets(out, fm, fastCold, fastWarm)
	for _, r := range runs {
		if r.tool.name == issueLoop && r.err == nil && len(r.warm) > 0 {
			fmt.Fprintf(out, "  against the issue's loop (%s): %s cold, %s warm\n", issueLoop,
				ratio(testenv.Median(fm.cold).Wall, testenv.Median(r.cold).Wall), ratio(testenv.Median(fm.warm).Wall, testenv.Median(r.warm).Wall))
		}
	}
	fmt.Fprintf(out, "  warm re-run downloads no archive and uploads nothing: %d archives, %d uploads: %s\n",
		fm.warmSrc.archives, len(fm.warmDst.uploads), met(fm.warmSrc.archives == 0 && len(fm.warmDst.uploads) == 0))
}

// printRatioTargets prints issue 10's two timing targets for fm against
// the peers given: cold <= 0.8x, warm <= 0.5x.
func printRatioTargets(out io.Writer, fm *toolRun, cold, warm fastest) {
	c, w := testenv.Median(fm.cold), testenv.Median(fm.warm)
	if cold.name == "" {
		fmt.Fprintln(out, "  no peer measured to compare with")
		return
	}
	fmt.Fprintf(out, "  cold wall <= 0.8x %s: %s, %s\n", cold.name, ratio(c.Wall, cold.wall), met(float64(c.Wall) <= 0.8*float64(cold.wall)))
	if warm.name != "" && len(fm.warm) > 0 {
		fmt.Fprintf(out, "  warm wall <= 0.5x %s: %s, %s\n", warm.name, ratio(w.Wall, warm.wall), met(float64(w.Wall) <= 0.5*float64(warm.wall)))
	}
}
