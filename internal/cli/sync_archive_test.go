package cli

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/fluxcd/flux-mirror/api/v1beta2"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// airgap is a config of a signed 2-platform index with an SBOM referrer
// and a chart, exported from real registries and a chart repository.
type airgap struct {
	cfg        string
	src        *testenv.Registry
	web        *testenv.Nginx
	index      string // the source tag's digest
	sbom       string
	dstHost    string
	chartRepos string
}

// newAirgap sets up the sources and a config whose destinations are in
// dstHost (no registry needs to run there for an export).
func newAirgap(t *testing.T, dstHost string) airgap {
	t.Helper()
	src := testenv.StartReferrersRegistry(t)
	idx := testenv.PushIndex(t, src.Host, "app", "1.0.0",
		testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{testenv.NewBlob(t, 71, 4096)}},
		testenv.ImageSpec{Platform: "linux/arm64", Layers: []testenv.Blob{testenv.NewBlob(t, 72, 4096)}})
	ref := src.Host + "/app@" + idx.Digest.String()
	sbom := testenv.AttachSBOM(t, ref, "app")
	testenv.NewCosign(t).Sign(t, ref)
	repo := testenv.MakeChartRepository(t, demoCharts...)
	web := testenv.StartNginxStatic(t, repo, testenv.NginxOptions{})
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", headerV2+"artifacts:\n- source: "+src.Host+"/app\n  destination: "+
		dstHost+"/mirror/app\n  selector: {limit: 1}\n  includeReferrers: true\n"+
		"charts:\n- name: demo\n  source: http://"+web.Host+"\n  destination: oci://"+dstHost+"/charts\n  version: '>=1.0.0 <1.2.0'\n  limit: 0\n")
	return airgap{cfg: cfg, src: src, web: web, index: idx.Digest.String(), sbom: sbom, dstHost: dstHost}
}

// statuses lists "label:tag=status" and the referrer rows of a report.
func statuses(rep v1beta2.Report) string {
	var out []string
	for _, res := range rep.Report.Results {
		if res.Error != "" {
			out = append(out, res.Source+" plan: "+res.Error)
		}
		for _, tg := range res.Tags {
			out = append(out, tg.Tag+"="+tg.Status)
			for _, r := range tg.Referrers {
				out = append(out, "  ref="+r.Status)
			}
		}
	}
	return strings.Join(out, " ")
}

// TestSyncArchiveRoundTrip exports the config into a zstd archive without
// contacting the destination, imports it into an empty registry (every
// digest as at the source, the signature verifiable), and imports it
// again: all skipped.
func TestSyncArchiveRoundTrip(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dst := testenv.StartSyncRegistry(t)
	a := newAirgap(t, dst.Host)
	archive := filepath.Join(t.TempDir(), "site.tar.zst")

	r := run(t, nil, "sync", a.cfg, "--insecure", "-o", "json", "--to-archive", archive)
	rep := checkReport(t, []byte(r.stdout))
	want := "1.0.0=copied   ref=copied   ref=copied 1.1.0=copied 1.0.0=copied"
	if got := statuses(rep); r.code != 0 || got != want {
		t.Fatalf("export: exit %d, %s; want %s\n%s", r.code, got, want, r.stderr)
	}
	if n := len(dst.AccessLog(t)); n != 0 {
		t.Errorf("the export sent %d requests to the destination registry, want none", n)
	}
	if rep.Report.Results[0].Source != a.src.Host+"/app" {
		t.Errorf("export label %q", rep.Report.Results[0].Source)
	}

	r = run(t, nil, "sync", a.cfg, "--insecure", "-o", "json", "--from-archive", archive)
	rep = checkReport(t, []byte(r.stdout))
	if got := statuses(rep); r.code != 0 || got != want {
		t.Fatalf("import: exit %d, %s; want %s\n%s", r.code, got, want, r.stderr)
	}
	if rep.Report.Results[1].Source != "http://"+a.web.Host+"/demo" {
		t.Errorf("import keeps the config's labels, got %q", rep.Report.Results[1].Source)
	}
	for _, pair := range [][2]string{
		{a.src.Host + "/app:1.0.0", dst.Host + "/mirror/app:1.0.0"},
		{a.src.Host + "/app:sha256-" + strings.TrimPrefix(a.index, "sha256:") + ".sig", dst.Host + "/mirror/app:sha256-" + strings.TrimPrefix(a.index, "sha256:") + ".sig"},
		{a.src.Host + "/app@" + a.sbom, dst.Host + "/mirror/app@" + a.sbom},
	} {
		if s, d := headDigest(t, pair[0]), headDigest(t, pair[1]); s != d {
			t.Errorf("%s is %s at the destination, %s at the source", pair[1], d, s)
		}
	}
	if got := rep.Report.Results[0].Tags[0].Digest; got != a.index {
		t.Errorf("imported digest %s, want the source's %s", got, a.index)
	}
	// The imported chart is what helm pull reads, the repository's archive.
	home := t.TempDir()
	pulled := filepath.Join(home, "pulled")
	must(t, os.MkdirAll(pulled, 0o755))
	testenv.Helm(t, home, nil, "pull", "oci://"+dst.Host+"/charts/demo", "--version", "1.1.0", "--plain-http", "--destination", pulled)
	if _, err := os.Stat(filepath.Join(pulled, "demo-1.1.0.tgz")); err != nil {
		t.Errorf("helm pull of the imported chart: %v", err)
	}

	r = run(t, nil, "sync", a.cfg, "--insecure", "-o", "json", "--from-archive", archive)
	rep = checkReport(t, []byte(r.stdout))
	if got, want := statuses(rep), "1.0.0=skipped   ref=skipped   ref=skipped 1.1.0=skipped 1.0.0=skipped"; r.code != 0 || got != want {
		t.Errorf("second import: exit %d, %s; want %s", r.code, got, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(archive)); len(entries) != 1 {
		t.Errorf("the archive's directory holds %d files, want the archive alone (no staging left)", len(entries))
	}
}

// headDigest is the digest ref has.
func headDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	must(t, err)
	d, err := remote.Head(r)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return d.Digest.String()
}

// TestSyncArchivePeers exports a plain tar and a layout directory and has
// the real skopeo, oras and crane read them: each finds the index under
// its destination reference and copies it, with every digest kept, into
// a registry.
func TestSyncArchivePeers(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	peer := testenv.StartSyncRegistry(t)
	a := newAirgap(t, "registry.example.com:5000")
	dir := t.TempDir()
	archive, layout := filepath.Join(dir, "site.tar"), filepath.Join(dir, "layout")
	for _, flag := range []string{"--to-archive=" + archive, "--to-layout=" + layout} {
		if r := run(t, nil, "sync", a.cfg, "--insecure", flag); r.code != 0 {
			t.Fatalf("sync %s: exit %d\n%s%s", flag, r.code, r.stdout, r.stderr)
		}
	}
	refName := "registry.example.com:5000/mirror/app:1.0.0"
	skopeo := testenv.SystemTool(t, "skopeo", "skopeo")
	for _, src := range []string{"oci-archive:" + archive + ":" + refName, "oci:" + layout + ":" + refName} {
		raw := peerRun(t, skopeo, "inspect", "--raw", src)
		if d := digestOf(raw); d != a.index {
			t.Errorf("skopeo inspect --raw %s: %s, want %s", src, d, a.index)
		}
	}
	peerRun(t, skopeo, "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
		"oci-archive:"+archive+":"+refName, "docker://"+peer.Host+"/skopeo/app:1.0.0")
	if d := headDigest(t, peer.Host+"/skopeo/app:1.0.0"); d != a.index {
		t.Errorf("skopeo copied %s, want %s", d, a.index)
	}

	oras := testenv.Tool(t, "oras")
	peerRun(t, oras, "cp", "-r", "--to-plain-http", "--from-oci-layout", archive+"@"+a.index, peer.Host+"/oras/app:1.0.0")
	peerRun(t, oras, "cp", "-r", "--to-plain-http", "--from-oci-layout-path", layout, refName, peer.Host+"/oras-dir/app:1.0.0")
	for _, repo := range []string{"oras", "oras-dir"} {
		if d := headDigest(t, peer.Host+"/"+repo+"/app:1.0.0"); d != a.index {
			t.Errorf("oras copied %s into %s, want %s", d, repo, a.index)
		}
	}
	if d := headDigest(t, peer.Host+"/oras/app@"+a.sbom); d != a.sbom {
		t.Errorf("oras cp -r did not find the SBOM referrer in the archive: %s", d)
	}

	crane := testenv.Tool(t, "crane")
	peerRun(t, crane, "push", "--insecure", "--index", layout, peer.Host+"/crane/all:layout")
	got := peerRun(t, crane, "manifest", "--insecure", peer.Host+"/crane/all:layout")
	if !strings.Contains(got, a.index) || !strings.Contains(got, refName) {
		t.Errorf("crane push of the layout gave an index without %s (%s):\n%s", a.index, refName, got)
	}
	if d := headDigest(t, peer.Host+"/crane/all@"+a.index); d != a.index {
		t.Errorf("crane pushed %s, want %s", d, a.index)
	}
}

// peerRun runs a peer tool and returns its stdout; a failure fails the test.
func peerRun(t *testing.T, tool string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(tool), strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func digestOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

// TestSyncArchiveRefused: a truncated archive (plain and zstd), a flipped
// byte in a blob and a missing blob are each refused with an error naming
// what is wrong, before any request reaches the destination.
func TestSyncArchiveRefused(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dst := testenv.StartSyncRegistry(t)
	a := newAirgap(t, dst.Host)
	dir := t.TempDir()
	plain, zst := filepath.Join(dir, "site.tar"), filepath.Join(dir, "site.tar.zst")
	for _, f := range []string{plain, zst} {
		if r := run(t, nil, "sync", a.cfg, "--insecure", "--to-archive", f); r.code != 0 {
			t.Fatalf("export %s: exit %d\n%s%s", f, r.code, r.stdout, r.stderr)
		}
	}
	layer := testenv.NewBlob(t, 72, 4096).Digest.String()
	cases := []struct {
		name, want string
		edit       func(hdr *tar.Header, data []byte) ([]byte, bool)
		from       string
	}{
		{name: "truncated tar", from: plain, want: "truncated"},
		{name: "truncated zstd", from: zst, want: "truncated"},
		{name: "flipped byte", from: plain, want: "blob " + layer + " is altered", edit: func(hdr *tar.Header, data []byte) ([]byte, bool) {
			if strings.HasSuffix(hdr.Name, strings.TrimPrefix(layer, "sha256:")) {
				data[len(data)/2] ^= 0x20
			}
			return data, true
		}},
		{name: "missing blob", from: plain, want: "blob " + layer + " (4096 bytes) is missing", edit: func(hdr *tar.Header, data []byte) ([]byte, bool) {
			return data, !strings.HasSuffix(hdr.Name, strings.TrimPrefix(layer, "sha256:"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), filepath.Base(c.from))
			if c.edit == nil {
				raw, err := os.ReadFile(c.from)
				must(t, err)
				must(t, os.WriteFile(bad, raw[:len(raw)*2/3], 0o644))
			} else {
				rewriteTar(t, c.from, bad, c.edit)
			}
			r := run(t, nil, "sync", a.cfg, "--insecure", "--from-archive", bad)
			if r.code != 1 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "nothing was pushed") {
				t.Errorf("exit %d, want 1 and an error with %q:\n%s%s", r.code, c.want, r.stdout, r.stderr)
			}
			if log := dst.AccessLog(t); len(log) != 0 {
				t.Errorf("the destination got requests: %v", log)
			}
		})
	}
}

// rewriteTar copies the tar at from to to through edit, which may change an
// entry's bytes or drop it (false).
func rewriteTar(t *testing.T, from, to string, edit func(*tar.Header, []byte) ([]byte, bool)) {
	t.Helper()
	in, err := os.Open(from)
	must(t, err)
	defer in.Close()
	out, err := os.Create(to)
	must(t, err)
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		data, err := io.ReadAll(tr)
		must(t, err)
		data, keep := edit(hdr, data)
		if !keep {
			continue
		}
		hdr.Size = int64(len(data))
		must(t, tw.WriteHeader(hdr))
		_, err = tw.Write(data)
		must(t, err)
	}
	must(t, tw.Close())
}

// TestSyncReadmeExample runs the README's first command as written: the
// example layout mirrored into a local layout directory, no registry and
// no network (HOME and PATH empty), copied then skipped.
func TestSyncReadmeExample(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ex := filepath.Join("..", "..", "examples", "airgap")
	out := filepath.Join(t.TempDir(), "flux-mirror-example")
	for _, want := range []string{"copied", "skipped"} {
		// Any request to the network would go to a proxy that is not there.
		noNet := []string{"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY="}
		c := startBinary(t, noNet, "sync", filepath.Join(ex, "sync.yaml"), "--from-layout", filepath.Join(ex, "layout"), "--to-layout", out)
		got, err := c.wait()
		if err != nil || !strings.HasPrefix(got, "✔ ghcr.io/example/hello:1.0.0 ("+want+")\n  → registry.example.com/mirror/hello:1.0.0\nSummary: 1 "+want) {
			t.Fatalf("%v, want the tag %s:\n%s", err, want, got)
		}
	}
	// The copy is an OCI layout skopeo reads, digest as in the example.
	skopeo := testenv.SystemTool(t, "skopeo", "skopeo")
	raw := peerRun(t, skopeo, "inspect", "--raw", "oci:"+out+":registry.example.com/mirror/hello:1.0.0")
	if d := digestOf(raw); d != "sha256:50ca12a8bdda87097f71947c358ec7e0a722150b33d22abb3fcc2c4f0d09502d" {
		t.Errorf("the copy's index is %s", d)
	}
}

// TestSyncLayoutPlatforms: an entry with platforms exports only the chosen
// platform into a layout directory, under a destination name on the
// source's own registry that the registry never hears of; the import
// pushes the new index (the report's digest) to that name, and a
// re-import skips it.
func TestSyncLayoutPlatforms(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	src := testenv.StartSyncRegistry(t)
	amd, arm := testenv.NewBlob(t, 81, 4096), testenv.NewBlob(t, 82, 4096)
	testenv.PushIndex(t, src.Host, "app", "1.0.0",
		testenv.ImageSpec{Platform: "linux/amd64", Layers: []testenv.Blob{amd}},
		testenv.ImageSpec{Platform: "linux/arm64", Layers: []testenv.Blob{arm}})
	cfg := writeFile(t, t.TempDir(), "mirror.yaml", headerV2+"artifacts:\n- source: "+src.Host+"/app\n  destination: "+src.Host+
		"/mirror/app\n  selector: {limit: 1}\n  platforms: [linux/arm64]\n")
	layout := filepath.Join(t.TempDir(), "layout")
	before := len(src.AccessLog(t))
	r := run(t, nil, "sync", cfg, "--insecure", "-o", "json", "--to-layout", layout)
	exported := checkReport(t, []byte(r.stdout)).Report.Results[0].Tags[0]
	if r.code != 0 || exported.Status != v1beta2.StatusCopied || exported.SourceDigest == "" {
		t.Fatalf("export: exit %d, %+v\n%s", r.code, exported, r.stderr)
	}
	for _, q := range src.AccessLog(t)[before:] {
		if strings.Contains(q.Path, "/mirror/") {
			t.Errorf("the source registry got a request for the destination name: %s", q)
		}
	}
	if _, err := os.Stat(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(amd.Digest.String(), "sha256:"))); err == nil {
		t.Error("the linux/amd64 layer is in the layout: only linux/arm64 was asked for")
	}
	if _, err := os.Stat(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(arm.Digest.String(), "sha256:"))); err != nil {
		t.Errorf("the linux/arm64 layer is not in the layout: %v", err)
	}

	// The import pushes the layout's index to the name the export recorded,
	// a repository of the real registry this time.
	for i, want := range []string{v1beta2.StatusCopied, v1beta2.StatusSkipped} {
		r = run(t, nil, "sync", cfg, "--insecure", "-o", "json", "--from-layout", layout)
		tag := checkReport(t, []byte(r.stdout)).Report.Results[0].Tags[0]
		if r.code != 0 || tag.Status != want || tag.Digest != exported.Digest {
			t.Errorf("import %d: exit %d, %+v; want %s of %s\n%s", i+1, r.code, tag, want, exported.Digest, r.stderr)
		}
	}
	if d := headDigest(t, src.Host+"/mirror/app:1.0.0"); d != exported.Digest {
		t.Errorf("the registry holds %s, want the exported %s", d, exported.Digest)
	}
}
