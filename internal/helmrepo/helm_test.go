package helmrepo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	helmrepo "helm.sh/helm/v4/pkg/repo/v1"

	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestIndexAsHelmReadsIt decodes indexes with this package and with Helm's
// own (helm.sh/helm/v4/pkg/repo/v1): one the real helm CLI wrote, and
// hand-made ones in testdata (JSON, entries Helm drops). Both must list
// the same versions with the same URLs and digests.
func TestIndexAsHelmReadsIt(t *testing.T) {
	dir := testenv.MakeChartRepository(t,
		testenv.HelmChart{Name: "demo", Version: "1.0.0"},
		testenv.HelmChart{Name: "demo", Version: "1.1.0+build.1"},
		testenv.HelmChart{Name: "tool", Version: "0.1.0-rc.1"})
	files, err := filepath.Glob("testdata/index-*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range append(files, filepath.Join(dir, "index.yaml")) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := ParseIndex(b, path)
			theirs, herr := helmrepo.LoadIndexFile(path)
			if (err == nil) != (herr == nil) {
				t.Fatalf("this package: %v; Helm: %v", err, herr)
			}
			if err != nil {
				return
			}
			if got, want := summary(ours), helmSummary(theirs); !slices.Equal(got, want) {
				t.Errorf("versions differ:\n ours  %q\n Helm's %q", got, want)
			}
		})
	}
}

func summary(i *Index) []string {
	var out []string
	for n, vs := range i.Entries {
		for _, v := range vs {
			out = append(out, n+" "+v.Version+" "+v.Digest+" "+v.URLs[0])
		}
	}
	slices.Sort(out)
	return out
}

func helmSummary(i *helmrepo.IndexFile) []string {
	var out []string
	for n, vs := range i.Entries {
		for _, v := range vs {
			if len(v.URLs) > 0 {
				out = append(out, n+" "+v.Version+" "+v.Digest+" "+v.URLs[0])
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestRepositoriesAsHelmReadsThem decodes a repositories file with this
// package and with Helm's repo.LoadFile: every field the same.
func TestRepositoriesAsHelmReadsThem(t *testing.T) {
	path := "testdata/repositories.yaml"
	ours, err := LoadRepositories(path)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := helmrepo.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(ours.Repositories)
	b, _ := json.Marshal(theirs.Repositories)
	if !bytes.Equal(a, b) {
		t.Errorf("entries differ:\n ours  %s\n Helm's %s", a, b)
	}
}

// TestChartAsHelmPushesIt: for a chart the real helm CLI packaged and
// pushed, the config blob this package makes is the one helm push wrote
// (Helm's loader and chart.Metadata), and the annotations are helm's but
// for the creation time.
func TestChartAsHelmPushesIt(t *testing.T) {
	home := t.TempDir()
	reg := testenv.StartSyncRegistry(t)
	archive := testenv.PackageChart(t, home, filepath.Join(home, "out"), testenv.HelmChart{Name: "demo", Version: "1.2.3+meta", Description: "a \"quoted\" <chart>"})
	testenv.Helm(t, home, nil, "push", archive, "oci://"+reg.Host+"/charts", "--plain-http")

	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md, err := ReadMetadata(f)
	if err != nil {
		t.Fatal(err)
	}
	config, err := md.Config()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(archive)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := json.Marshal(ch.Metadata); !bytes.Equal(config, want) {
		t.Errorf("config blob:\n ours  %s\n Helm's %s", config, want)
	}

	ref, err := name.ParseReference(reg.Host+"/charts/demo:1.2.3_meta", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	var mf v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &mf); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(config)
	if got := mf.Config.Digest.Hex; got != hex.EncodeToString(sum[:]) || mf.Config.MediaType != ConfigMediaType || mf.Layers[0].MediaType != ChartMediaType {
		t.Errorf("helm push wrote config %s (%s), layer %s; ours has config sha256:%x", got, mf.Config.MediaType, mf.Layers[0].MediaType, sum)
	}
	delete(mf.Annotations, "org.opencontainers.image.created")
	a, _ := json.Marshal(mf.Annotations)
	b, _ := json.Marshal(md.OCIAnnotations())
	if !bytes.Equal(a, b) {
		t.Errorf("annotations:\n helm push %s\n ours      %s", a, b)
	}
}
