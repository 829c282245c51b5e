package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// syncConfig is a config of artifacts entries, each "SOURCE DESTINATION
// LIMIT [overwrite]".
func syncConfig(t *testing.T, entries ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(header + "artifacts:\n")
	for _, e := range entries {
		f := strings.Fields(e)
		fmt.Fprintf(&b, "- source: %s\n  destination: %s\n  selector:\n    limit: %s\n", f[0], f[1], f[2])
		if len(f) > 3 {
			b.WriteString("  overwrite: true\n")
		}
	}
	return writeFile(t, t.TempDir(), "mirror.yaml", b.String())
}

func image(t *testing.T, seed uint64) testenv.ImageSpec {
	return testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{testenv.NewBlob(t, seed, 2048)}}
}

var (
	durationRE = regexp.MustCompile(`in [0-9.]+s\.`)
	digestRE   = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
)

// normalize replaces each registry host with its label, and the Summary's
// duration and digests with placeholders, so that golden files are stable.
func normalize(s string, hosts map[string]string) string {
	for host, label := range hosts {
		s = strings.ReplaceAll(s, host, label)
	}
	s = durationRE.ReplaceAllString(s, "in <elapsed>.")
	return digestRE.ReplaceAllString(s, "sha256:<digest>")
}

// TestSyncText runs sync over real registries with one entry per outcome
// (copied, skipped, drifted, a destination refusing, a source that cannot
// be listed, a chart and a chart the repository lacks) and checks the text output against a golden file,
// the drift warning and the exit status.
func TestSyncText(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	locked := testenv.StartHtpasswdRegistry(t, "mirror", "not-given-to-the-client")
	testenv.PushImage(t, src.Host, "app", "1.2.0", image(t, 1))
	testenv.PushImage(t, src.Host, "app", "1.1.0", image(t, 2))
	old := testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 3))
	testenv.PushImage(t, dst.Host, "app", "1.1.0", image(t, 2))
	other := testenv.PushImage(t, dst.Host, "app", "1.0.0", image(t, 4))
	cfg := syncConfig(t, src.Host+"/app "+dst.Host+"/app 0", src.Host+"/absent "+dst.Host+"/absent 1",
		src.Host+"/app "+locked.Host+"/app 1")
	charts := testenv.StartNginxStatic(t, testenv.MakeChartRepository(t, demoCharts...), testenv.NginxOptions{})
	appendFile(t, cfg, "charts:\n- name: demo\n  source: http://"+charts.Host+"\n  destination: oci://"+dst.Host+"/charts\n"+
		"- name: podinfo\n  source: http://"+charts.Host+"\n  destination: oci://"+dst.Host+"/charts\n")

	r := run(t, nil, "sync", cfg, "--retries", "0")
	hosts := map[string]string{src.Host: "SRC", dst.Host: "DST", locked.Host: "LOCKED", charts.Host: "CHARTS"}
	golden(t, "sync-text.stdout", normalize(r.stdout, hosts))
	if r.code != 1 {
		t.Errorf("exit status %d, want 1 (something failed)", r.code)
	}
	if n := len(failureLines(r.stderr)); n != 0 {
		t.Errorf("%d ✗ lines on stderr, want none (the failures are result lines on stdout):\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, old.Digest.String()) || !strings.Contains(r.stderr, other.Digest.String()) {
		t.Errorf("the drift warning does not name both digests:\n%s", r.stderr)
	}
}

// TestSyncExitStatus: drift alone exits with --drift-exit-code (2 by
// default, 0 allowed); nothing to do exits 0; would-copy never changes it.
func TestSyncExitStatus(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 1))
	testenv.PushImage(t, src.Host, "new", "1.0.0", image(t, 2))
	testenv.PushImage(t, dst.Host, "app", "1.0.0", image(t, 3))
	drift := syncConfig(t, src.Host+"/app "+dst.Host+"/app 1")
	fresh := syncConfig(t, src.Host+"/new "+dst.Host+"/new 1")
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"drift", []string{drift}, 2},
		{"drift with its own code", []string{drift, "--drift-exit-code", "7"}, 7},
		{"drift with code 0", []string{drift, "--drift-exit-code", "0"}, 0},
		{"drift dry-run", []string{drift, "--dry-run"}, 2},
		{"would-copy", []string{fresh, "--dry-run"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"sync"}, c.args...)...)
			if r.code != c.want {
				t.Errorf("exit status %d, want %d\n%s%s", r.code, c.want, r.stdout, r.stderr)
			}
			if len(failureLines(r.stderr)) != 0 {
				t.Errorf("✗ line on stderr:\n%s", r.stderr)
			}
		})
	}
}

// TestSyncReport: -o json prints only the report, with $schema, every
// summary key, and the same document --report writes; -o yaml the same
// without $schema.
func TestSyncReport(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	d := testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 1))
	cfg := syncConfig(t, src.Host+"/app "+dst.Host+"/app 1", src.Host+"/absent "+dst.Host+"/absent 1")
	reportFile := filepath.Join(t.TempDir(), "report.json")

	r := run(t, nil, "sync", cfg, "-o", "json", "--report", reportFile)
	if r.code != 1 {
		t.Fatalf("exit status %d, want 1 (a plan failed)\n%s", r.code, r.stderr)
	}
	rep := checkReport(t, []byte(r.stdout))
	if rep.Schema != v1beta2.ReportSchemaURL {
		t.Errorf("$schema %q", rep.Schema)
	}
	s := rep.Report.Summary
	if s.Entries != 2 || s.Copied != 1 || s.Failed != 1 || s.ExitCode != 1 {
		t.Errorf("summary %+v", s)
	}
	res := rep.Report.Results
	if len(res) != 2 || res[0].Tags[0].Digest != d.Digest.String() || res[0].Tags[0].Status != v1beta2.StatusCopied ||
		res[1].Status != v1beta2.EntryFailed || res[1].Error == "" || res[1].Tags == nil {
		t.Errorf("results %+v", res)
	}
	file, err := os.ReadFile(reportFile)
	if err != nil || !bytes.Equal(file, []byte(r.stdout)) {
		t.Errorf("--report file differs from -o json (%v):\n%s", err, file)
	}

	r = run(t, nil, "sync", cfg, "-o", "yaml")
	if strings.Contains(r.stdout, "$schema") {
		t.Errorf("yaml carries $schema:\n%s", r.stdout)
	}
	y, err := yaml.YAMLToJSON([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if rep := checkReport(t, y); rep.Report.Summary.Skipped != 1 {
		t.Errorf("second run summary %+v, want the tag skipped", rep.Report.Summary)
	}
}

// checkReport validates a report (JSON or YAML) against the shipped JSON
// Schema and decodes it.
func checkReport(t *testing.T, doc []byte) v1beta2.Report {
	t.Helper()
	testenv.ValidateReport(t, doc)
	var rep v1beta2.Report
	if err := yaml.UnmarshalStrict(doc, &rep); err != nil {
		t.Fatalf("report does not decode: %v\n%s", err, doc)
	}
	if rep.APIVersion != v1beta2.GroupVersion || rep.Kind != v1beta2.KindReport || !strings.HasPrefix(rep.Report.Reporter, "flux-mirror/") {
		t.Errorf("report header %+v", rep)
	}
	return rep
}

// readReport reads a --report file and checks it like checkReport.
func readReport(t *testing.T, path string) v1beta2.Report {
	t.Helper()
	raw, err := os.ReadFile(path)
	must(t, err)
	return checkReport(t, raw)
}

// TestSyncBadInput: bad flags and configs exit 1 with one ✗ line naming
// the flag or field, and print nothing on stdout.
func TestSyncBadInput(t *testing.T) {
	good := syncConfig(t, "127.0.0.1:1/a 127.0.0.1:1/b 1")
	empty := writeFile(t, t.TempDir(), "empty.yaml", header)
	badSelector := writeFile(t, t.TempDir(), "bad.yaml", header+"artifacts:\n- source: a.example.com/x\n  destination: b.example.com/x\n  selector:\n    sortBy: random\n")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"concurrency zero", []string{good, "--concurrency", "0"}, "--concurrency"},
		{"concurrency not a number", []string{good, "--concurrency", "many"}, "--concurrency"},
		{"negative retries", []string{good, "--retries", "-1"}, "--retries"},
		{"zero timeout", []string{good, "--timeout", "0s"}, "--timeout"},
		{"drift code too big", []string{good, "--drift-exit-code", "256"}, "--drift-exit-code"},
		{"negative drift code", []string{good, "--drift-exit-code", "-1"}, "--drift-exit-code"},
		{"unknown output", []string{good, "-o", "xml"}, "--output"},
		{"config twice", []string{good, "-f", good}, "-f/--config"},
		{"two arguments", []string{good, good}, "accepts at most 1 arg"},
		{"nothing to sync", []string{empty}, "no artifacts and no charts"},
		{"bad selector", []string{badSelector}, "artifacts[0].selector.sortBy"},
		{"two destinations", []string{good, "--to-archive", "a.tar", "--to-layout", "dir"}, "--to-archive and --to-layout"},
		{"two sources", []string{good, "--from-archive", "a.tar", "--from-layout", "dir"}, "--from-archive and --from-layout"},
		{"archive into itself", []string{good, "--from-archive", "a.tar", "--to-archive", "./a.tar"}, "name the same file"},
		{"tmp-dir alone", []string{good, "--tmp-dir", "/tmp"}, "--tmp-dir is only used"},
		{"archive missing", []string{good, "--from-archive", filepath.Join(t.TempDir(), "none.tar")}, "--from-archive"},
		{"not a layout", []string{good, "--from-layout", t.TempDir()}, "--from-layout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, nil, append([]string{"sync"}, c.args...)...)
			lines := failureLines(r.stderr)
			if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], c.want) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, ✗ lines %q; want 1 and one line naming %q", r.code, r.stdout, lines, c.want)
			}
		})
	}
}

// TestSyncTimeoutFromRoot: a --timeout typed before "sync" (as flux passes
// its own) is the job budget unless sync's own comes after it.
func TestSyncTimeoutFromRoot(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 1))
	cfg := syncConfig(t, src.Host+"/app "+dst.Host+"/app 1")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", cfg}, "timeout 5m0s per job"},
		{[]string{"--timeout", "2m", "sync", cfg}, "timeout 2m0s per job"},
		{[]string{"--timeout", "2m", "sync", cfg, "--timeout", "3m"}, "timeout 3m0s per job"},
	} {
		r := run(t, nil, append(c.args, "--verbose")...)
		if r.code != 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%q: exit %d, stderr lacks %q:\n%s", c.args, r.code, c.want, r.stderr)
		}
	}
	// The same through the real flux CLI, which passes its own --timeout.
	out, err := fluxCLI(t, pluginDir(t), "--timeout", "2m", "mirror", "sync", cfg, "--verbose")
	if err != nil || !strings.Contains(out, "timeout 2m0s per job") {
		t.Errorf("flux --timeout 2m mirror sync: %v\n%s", err, out)
	}
}

// TestSyncNoTokenInOutput authenticates to an htpasswd registry through a
// Docker config, then with a wrong password: the password appears in no
// output (TestMain checks every registered secret against every output).
func TestSyncNoTokenInOutput(t *testing.T) {
	const password = "sync-password-8c1f0e"
	noteSecret(password, "sync's registry password")
	noteSecret(base64.StdEncoding.EncodeToString([]byte("mirror:"+password)), "sync's registry auth")
	src := testenv.StartSyncRegistry(t)
	dst := testenv.StartHtpasswdRegistry(t, "mirror", password)
	testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 1))
	cfg := syncConfig(t, src.Host+"/app "+dst.Host+"/app 1")
	for _, pw := range []string{password, password + "-wrong"} {
		dir := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte("mirror:" + pw))
		writeFile(t, dir, "config.json", fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, dst.Host, auth))
		t.Setenv("DOCKER_CONFIG", dir)
		for _, args := range [][]string{{"sync", cfg, "--verbose"}, {"sync", cfg, "-o", "json"}} {
			r := run(t, nil, args...)
			if pw == password && r.code != 0 {
				t.Errorf("%q with the right password: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
			}
			if pw != password && r.code != 1 {
				t.Errorf("%q with a wrong password: exit %d, want 1\n%s%s", args, r.code, r.stdout, r.stderr)
			}
		}
	}
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

// TestSummaryLine: zero counts are left out, the rest in the contract's
// order, and the elapsed time has one decimal.
func TestSummaryLine(t *testing.T) {
	cases := []struct {
		s    v1beta2.Summary
		d    time.Duration
		want string
	}{
		{v1beta2.Summary{Copied: 3, Skipped: 1, Failed: 1}, 4200 * time.Millisecond, "Summary: 3 copied, 1 skipped, 1 failed in 4.2s."},
		{v1beta2.Summary{Failed: 2, WouldOverwrite: 1, WouldCopy: 4, Drifted: 5, Overwritten: 6}, 50 * time.Millisecond,
			"Summary: 6 overwritten, 5 drifted, 4 would-copy, 1 would-overwrite, 2 failed in 0.1s."},
		{v1beta2.Summary{Entries: 2}, 90 * time.Second, "Summary: nothing to mirror in 90.0s."},
	}
	for _, c := range cases {
		if got := summaryLine(c.s, c.d); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

// TestSyncVerifyUnsigned: an entry that verifies signatures does not copy
// an unsigned image, and says where it looked, without needing the trust
// root (nothing to check); the other entries still run, one of them with
// includeReferrers and nothing that refers to its image: no referrer line.
func TestSyncVerifyUnsigned(t *testing.T) {
	src := testenv.StartSyncRegistry(t)
	dst := testenv.StartSyncRegistry(t)
	testenv.PushImage(t, src.Host, "plain", "1.0.0", image(t, 41))
	testenv.PushImage(t, src.Host, "signed", "1.0.0", image(t, 42))
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", header+"artifacts:\n"+
		"- source: "+src.Host+"/signed\n  destination: "+dst.Host+"/signed\n  selector: {limit: 0}\n"+
		"  verify:\n    provider: cosign\n    matchOIDCIdentity:\n    - {issuer: https://token.actions.githubusercontent.com, subject: '^https://github.com/example/.*$'}\n"+
		"- source: "+src.Host+"/plain\n  destination: "+dst.Host+"/plain\n  selector: {limit: 0}\n  includeReferrers: true\n")

	r := run(t, nil, "sync", cfg, "--no-progress", "--insecure")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "✗ "+src.Host+"/signed:1.0.0 — signature check: "+src.Host+"/signed@sha256:") ||
		!strings.Contains(r.stdout, "no signature found (looked for Sigstore bundles among the referrers of sha256:") {
		t.Errorf("stdout lacks the refused tag and where it looked:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "✔ "+src.Host+"/plain:1.0.0 (copied)") {
		t.Errorf("the other entry did not run:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "referrer ") || strings.Contains(r.stderr, "includeReferrers") {
		t.Errorf("an image without referrers got referrer lines or a warning:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	for _, l := range dst.AccessLog(t) {
		if strings.Contains(l.Path, "/signed/") && l.Method != http.MethodGet && l.Method != http.MethodHead {
			t.Errorf("the unsigned image was written to the destination: %s", l)
		}
	}
}
