package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// demoCharts are the versions of the chart repository the chart tests
// serve: three releases (one with build metadata) and a pre-release the
// default range leaves out.
var demoCharts = []testenv.HelmChart{
	{Name: "demo", Version: "1.0.0", Padding: 4096},
	{Name: "demo", Version: "1.1.0", Padding: 4096},
	{Name: "demo", Version: "1.2.0+build.7", Padding: 4096},
	{Name: "demo", Version: "2.0.0-rc.1"},
	{Name: "other", Version: "0.1.0"},
}

// chartConfig is a config of one charts entry.
func chartConfig(t *testing.T, name, source, destination, extra string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "mirror.yaml", fmt.Sprintf(
		"%scharts:\n- name: %s\n  source: %s\n  destination: oci://%s\n  limit: 0\n%s", header, name, source, destination, extra))
}

// chartReport runs sync with a JSON report and returns it and the exit status.
func chartReport(t *testing.T, cfg string, args ...string) (v1beta2.Report, result) {
	t.Helper()
	r := run(t, nil, append([]string{"sync", cfg, "-o", "json", "--insecure"}, args...)...)
	return checkReport(t, []byte(r.stdout)), r
}

// tagStatuses is "version=status" for each tag of the report's first entry.
func tagStatuses(rep v1beta2.Report) string {
	var out []string
	for _, res := range rep.Report.Results {
		if res.Error != "" {
			out = append(out, "plan: "+res.Error)
		}
		for _, tg := range res.Tags {
			out = append(out, tg.Tag+"="+tg.Status)
		}
	}
	return strings.Join(out, " ")
}

// countTGZ counts the chart archive downloads in nginx's access log.
func countTGZ(t *testing.T, n *testenv.Nginx) int {
	t.Helper()
	c := 0
	for _, l := range n.AccessLog(t) {
		if strings.HasPrefix(l, "GET ") && strings.Contains(strings.Fields(l)[1], ".tgz") {
			c++
		}
	}
	return c
}

// manifestDigest is the digest of repo:tag in the registry at host.
func manifestDigest(t *testing.T, host, repo, tag string) string {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	must(t, err)
	d, err := remote.Head(ref)
	if err != nil {
		t.Fatalf("%s/%s:%s: %v", host, repo, tag, err)
	}
	return d.Digest.String()
}

// TestSyncCharts mirrors a chart repository that the real helm CLI made
// and nginx serves into a registry, and checks the result with the real
// helm CLI: the versions the range selects land under their tags ('+' as
// '_'), helm pulls back the archives byte for byte, a re-run downloads
// nothing, and the same chart pushed anywhere has the same digest.
func TestSyncCharts(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	repo := testenv.MakeChartRepository(t, demoCharts...)
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	dst, again := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	cfg := chartConfig(t, "demo", "http://"+web.Host, dst.Host+"/charts", "")

	rep, r := chartReport(t, cfg)
	if got, want := tagStatuses(rep), "1.2.0+build.7=copied 1.1.0=copied 1.0.0=copied"; got != want || r.code != 0 {
		t.Fatalf("first run: %s (exit %d), want %s\n%s", got, r.code, want, r.stderr)
	}
	if got := rep.Report.Results[0].Source; got != "http://"+web.Host+"/demo" {
		t.Errorf("entry label %q", got)
	}
	home := t.TempDir()
	out := filepath.Join(home, "pulled")
	must(t, os.MkdirAll(out, 0o755))
	testenv.Helm(t, home, nil, "pull", "oci://"+dst.Host+"/charts/demo", "--version", "1.2.0+build.7", "--plain-http", "--destination", out)
	pulled, err := os.ReadFile(filepath.Join(out, "demo-1.2.0+build.7.tgz"))
	must(t, err)
	original, err := os.ReadFile(filepath.Join(repo, "demo-1.2.0+build.7.tgz"))
	must(t, err)
	if !bytes.Equal(pulled, original) {
		t.Errorf("helm pull gave %d bytes that differ from the repository's archive (%d bytes)", len(pulled), len(original))
	}
	if show := testenv.Helm(t, home, nil, "show", "chart", "oci://"+dst.Host+"/charts/demo", "--version", "1.1.0", "--plain-http"); !strings.Contains(show, "version: 1.1.0") {
		t.Errorf("helm show chart:\n%s", show)
	}
	if d := manifestDigest(t, dst.Host, "charts/demo", "1.2.0_build.7"); rep.Report.Results[0].Tags[0].Digest == d {
		t.Errorf("report digest %s is the manifest's, want the archive's", d)
	}

	downloads := countTGZ(t, web)
	if downloads != 3 {
		t.Errorf("the first run downloaded %d chart archives, want each of the 3 once (the index has their digests)", downloads)
	}
	rep, r = chartReport(t, cfg)
	if got, want := tagStatuses(rep), "1.2.0+build.7=skipped 1.1.0=skipped 1.0.0=skipped"; got != want || r.code != 0 {
		t.Errorf("re-run: %s (exit %d), want %s", got, r.code, want)
	}
	if n := countTGZ(t, web) - downloads; n != 0 {
		t.Errorf("re-run downloaded %d chart archives, want none (the index has their digests)", n)
	}

	// The same charts pushed to another registry, by another run, give
	// the same manifests.
	_, _ = chartReport(t, chartConfig(t, "demo", "http://"+web.Host, again.Host+"/charts", ""))
	for _, tag := range []string{"1.0.0", "1.1.0", "1.2.0_build.7"} {
		if a, b := manifestDigest(t, dst.Host, "charts/demo", tag), manifestDigest(t, again.Host, "charts/demo", tag); a != b {
			t.Errorf("%s: manifest %s in one registry, %s in another: pushes are not byte-stable", tag, a, b)
		}
	}
}

// TestSyncChartsDecisions: a destination tag holding another build of the
// version drifts (exit 2) and is overwritten only when asked; one holding
// an image fails its job; a chart the index lacks fails the plan.
func TestSyncChartsDecisions(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	repo := testenv.MakeChartRepository(t, demoCharts...)
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	dst := testenv.StartSyncRegistry(t)
	home := t.TempDir()
	// Another build of 1.1.0, pushed by the real helm CLI.
	other := testenv.PackageChart(t, home, filepath.Join(home, "other"), testenv.HelmChart{Name: "demo", Version: "1.1.0", Description: "another build"})
	testenv.Helm(t, home, nil, "push", other, "oci://"+dst.Host+"/charts", "--plain-http")
	testenv.PushImage(t, dst.Host, "charts/demo", "1.0.0", image(t, 9))
	cfg := chartConfig(t, "demo", "http://"+web.Host+"/", dst.Host+"/charts", "  version: '>=1.0.0 <1.2.0'\n")

	rep, r := chartReport(t, cfg, "--dry-run")
	if got, want := tagStatuses(rep), "1.1.0=drifted 1.0.0=failed"; got != want || r.code != 1 {
		t.Errorf("dry run: %s (exit %d), want %s, exit 1", got, r.code, want)
	}
	if e := rep.Report.Results[0].Tags[1].Error; !strings.Contains(e, "not a Helm chart") {
		t.Errorf("image at the destination tag: error %q", e)
	}
	drifted := manifestDigest(t, dst.Host, "charts/demo", "1.1.0")
	rep, r = chartReport(t, cfg, "--overwrite")
	if got, want := tagStatuses(rep), "1.1.0=overwritten 1.0.0=failed"; got != want {
		t.Errorf("--overwrite: %s, want %s", got, want)
	}
	if manifestDigest(t, dst.Host, "charts/demo", "1.1.0") == drifted {
		t.Error("the overwritten tag still holds the other build")
	}
	if rep, _ := chartReport(t, cfg); tagStatuses(rep) != "1.1.0=skipped 1.0.0=failed" {
		t.Errorf("after overwrite: %s", tagStatuses(rep))
	}

	rep, r = chartReport(t, chartConfig(t, "absent", "http://"+web.Host, dst.Host+"/charts", ""))
	if got := tagStatuses(rep); !strings.Contains(got, `plan: chart "absent" is not in the index of http://`+web.Host) || r.code != 1 {
		t.Errorf("missing chart: %s (exit %d)", got, r.code)
	}
}

// TestSyncChartsAuth reads a chart repository behind TLS and basic auth
// (nginx with a private CA and htpasswd) with the credentials and CA of
// Helm's repositories file. Archives are redirected to a second server:
// the password goes there only with pass_credentials_all, and never into
// any output.
func TestSyncChartsAuth(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	const user, password = "charts", "chart-repo-password-7f3a"
	noteSecret(password, "the chart repository's password")
	repo := testenv.MakeChartRepository(t, demoCharts...)
	files := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	ca := testenv.NewCA(t)
	cert, key := ca.IssueServer(t)
	htpasswd := testenv.WriteHtpasswd(t, t.TempDir(), user, password)
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{
		TLS: &testenv.NginxTLS{CertFile: cert, KeyFile: key},
		Location: fmt.Sprintf(`auth_basic "charts"; auth_basic_user_file %s;
      rewrite ^/(.*\.tgz)$ http://%s/$1 redirect;`, htpasswd, files.Host),
	})
	dst := testenv.StartSyncRegistry(t)
	source := "https://" + web.Host + "/"
	cfg := chartConfig(t, "demo", source, dst.Host+"/charts", "  version: 1.0.0\n")
	repos := filepath.Join(t.TempDir(), "repositories.yaml")
	t.Setenv("HELM_REPOSITORY_CONFIG", repos)
	writeRepos := func(entry string) {
		must(t, os.WriteFile(repos, []byte("apiVersion: \"\"\nrepositories:\n- name: demo\n  url: "+source+"\n"+entry), 0o600))
	}

	writeRepos("  caFile: " + ca.CertFile + "\n")
	rep, r := chartReport(t, cfg)
	if got := tagStatuses(rep); !strings.Contains(got, "401 Unauthorized") || !strings.Contains(got, "repositories file") || r.code != 1 {
		t.Errorf("without credentials: %s (exit %d), want a 401 plan failure with the hint", got, r.code)
	}
	writeRepos("  username: " + user + "\n  password: " + password + "\n")
	if rep, _ := chartReport(t, cfg); !strings.Contains(tagStatuses(rep), "certificate") {
		t.Errorf("without the CA: %s, want a certificate error", tagStatuses(rep))
	}

	writeRepos("  username: " + user + "\n  password: " + password + "\n  caFile: " + ca.CertFile + "\n")
	rep, r = chartReport(t, cfg)
	if got := tagStatuses(rep); got != "1.0.0=copied" || r.code != 0 {
		t.Fatalf("with the repositories file: %s (exit %d)\n%s", got, r.code, r.stderr)
	}
	auth := func() (present, none int) {
		for _, l := range files.AccessLog(t) {
			if strings.Contains(l, ".tgz") {
				if strings.Contains(l, "auth=present") {
					present++
				} else {
					none++
				}
			}
		}
		return present, none
	}
	if present, none := auth(); present != 0 || none == 0 {
		t.Errorf("the redirected downloads: %d with credentials, %d without; want none with", present, none)
	}

	writeRepos("  username: " + user + "\n  password: " + password + "\n  caFile: " + ca.CertFile + "\n  pass_credentials_all: true\n")
	other := chartConfig(t, "demo", source, dst.Host+"/elsewhere", "  version: 1.0.0\n")
	if rep, _ := chartReport(t, other); tagStatuses(rep) != "1.0.0=copied" {
		t.Fatalf("pass_credentials_all: %s", tagStatuses(rep))
	}
	if present, _ := auth(); present == 0 {
		t.Error("pass_credentials_all: the redirected download carried no credentials")
	}
}

// TestSyncChartsClientCertificate reads a chart repository that requires a
// client certificate (nginx with ssl_verify_client) with the certFile and
// keyFile of Helm's repositories file; without them the plan fails.
func TestSyncChartsClientCertificate(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ca := testenv.NewCA(t)
	cert, key := ca.IssueServer(t)
	clientCert, clientKey := ca.IssueClient(t, "flux-mirror")
	web := testenv.StartNginxStatic(t, testenv.MakeChartRepository(t, demoCharts...), testenv.NginxOptions{
		TLS: &testenv.NginxTLS{CertFile: cert, KeyFile: key, ClientCAFile: ca.CertFile},
	})
	dst := testenv.StartSyncRegistry(t)
	source := "https://" + web.Host
	cfg := chartConfig(t, "demo", source, dst.Host+"/charts", "")
	repos := filepath.Join(t.TempDir(), "repositories.yaml")
	t.Setenv("HELM_REPOSITORY_CONFIG", repos)
	entry := "repositories:\n- name: demo\n  url: " + source + "/\n  caFile: " + ca.CertFile + "\n"

	must(t, os.WriteFile(repos, []byte(entry), 0o600))
	if rep, r := chartReport(t, cfg); !strings.Contains(tagStatuses(rep), "plan: read the index") || r.code != 1 {
		t.Errorf("without a client certificate: %s (exit %d), want the plan to fail", tagStatuses(rep), r.code)
	}
	must(t, os.WriteFile(repos, []byte(entry+"  certFile: "+clientCert+"\n  keyFile: "+clientKey+"\n"), 0o600))
	if rep, r := chartReport(t, cfg); tagStatuses(rep) != "1.2.0+build.7=copied 1.1.0=copied 1.0.0=copied" || r.code != 0 {
		t.Errorf("with the client certificate: %s (exit %d)", tagStatuses(rep), r.code)
	}
}

// TestSyncChartsIndexWithoutDigests: an index that gives no archive
// digests (older chart servers) makes sync hash the archive to decide; the
// result is the same as with digests.
func TestSyncChartsIndexWithoutDigests(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	repo := testenv.MakeChartRepository(t, demoCharts...)
	index := filepath.Join(repo, "index.yaml")
	b, err := os.ReadFile(index)
	must(t, err)
	var kept []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "digest:") {
			kept = append(kept, l)
		}
	}
	must(t, os.WriteFile(index, []byte(strings.Join(kept, "\n")), 0o644))
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	dst := testenv.StartSyncRegistry(t)
	cfg := chartConfig(t, "demo", "http://"+web.Host, dst.Host+"/charts", "")

	rep, _ := chartReport(t, cfg)
	if got, want := tagStatuses(rep), "1.2.0+build.7=copied 1.1.0=copied 1.0.0=copied"; got != want {
		t.Fatalf("first run: %s, want %s", got, want)
	}
	first := rep.Report.Results[0].Tags[0].Digest
	rep, _ = chartReport(t, cfg)
	if got, want := tagStatuses(rep), "1.2.0+build.7=skipped 1.1.0=skipped 1.0.0=skipped"; got != want {
		t.Errorf("re-run: %s, want %s", got, want)
	}
	if d := rep.Report.Results[0].Tags[0].Digest; d != first || !strings.HasPrefix(d, "sha256:") {
		t.Errorf("digest %q on the re-run, %q on the first", d, first)
	}
}

// TestSyncChartsArchiveNotAsIndexed: an archive whose sha256 is not the
// index's (the repository changed under the index, or serves a corrupt
// file) fails its version with both digests named, and its tag is never
// written.
func TestSyncChartsArchiveNotAsIndexed(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	repo := testenv.MakeChartRepository(t, demoCharts...)
	// Replace 1.1.0's archive with another build after indexing.
	home := t.TempDir()
	other := testenv.PackageChart(t, home, filepath.Join(home, "out"), testenv.HelmChart{Name: "demo", Version: "1.1.0", Description: "not what the index says"})
	b, err := os.ReadFile(other)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(repo, "demo-1.1.0.tgz"), b, 0o644))
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	dst := testenv.StartSyncRegistry(t)

	rep, r := chartReport(t, chartConfig(t, "demo", "http://"+web.Host, dst.Host+"/charts", ""), "--retries", "0")
	if got, want := tagStatuses(rep), "1.2.0+build.7=copied 1.1.0=failed 1.0.0=copied"; got != want || r.code != 1 {
		t.Fatalf("%s (exit %d), want %s", got, r.code, want)
	}
	if e := rep.Report.Results[0].Tags[1].Error; !strings.Contains(e, "the archive's digest is sha256:") || !strings.Contains(e, "the index says sha256:") {
		t.Errorf("error %q, want both digests", e)
	}
	ref, err := name.ParseReference(dst.Host+"/charts/demo:1.1.0", name.Insecure)
	must(t, err)
	if _, err := remote.Head(ref); err == nil {
		t.Error("the tag of the archive that is not as indexed was written")
	}
}
