package mirror_test

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/fluxcd/flux-mirror/internal/mirror"
	"github.com/fluxcd/flux-mirror/internal/selector"
	"github.com/fluxcd/flux-mirror/internal/testenv"
)

// TestManifestWithSubject: a tagged artifact whose manifest names a
// subject (an OCI 1.1 signature or SBOM pushed by tag) is copied byte for
// byte to a registry without the referrers API, and listed in the
// destination's referrers tag there, rather than failing after its PUT.
func TestManifestWithSubject(t *testing.T) {
	isolate(t)
	src, dst := testenv.StartSyncRegistry(t), testenv.StartSyncRegistry(t)
	subject := testenv.PushImage(t, src.Host, "app", "1.0.0", image(t, 61))

	art := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	art = mutate.ConfigMediaType(art, "application/vnd.example.sbom.config+json")
	art, err := mutate.AppendLayers(art, static.NewLayer([]byte(`{"sbom":true}`), "application/vnd.example.sbom+json"))
	if err != nil {
		t.Fatal(err)
	}
	art = mutate.Subject(art, v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}).(v1.Image)
	ref, err := name.ParseReference(src.Host + "/app:sbom")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, art); err != nil {
		t.Fatal(err)
	}
	artDigest, err := art.Digest()
	if err != nil {
		t.Fatal(err)
	}

	sel, err := selector.Compile(selector.Spec{Pattern: `^(1\.0\.0|sbom)$`, SortBy: selector.SortAlphabetical})
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, []mirror.Entry{{Source: src.Host + "/app", Destination: dst.Host + "/app", Selector: sel}})
	wantAll(t, res, mirror.StatusCopied)
	if got := digestOf(t, dst.Host, "app", "sbom"); got != artDigest.String() {
		t.Errorf("app:sbom at the destination is %q, want %s", got, artDigest)
	}
	fallback := strings.Replace(subject.Digest.String(), ":", "-", 1)
	fref, err := name.ParseReference(dst.Host + "/app:" + fallback)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(fref)
	if err != nil {
		t.Fatalf("the destination's referrers tag %s: %v", fallback, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != artDigest {
		t.Errorf("referrers tag lists %+v, want the artifact %s", im.Manifests, artDigest)
	}
}
