package sigverify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"google.golang.org/protobuf/encoding/protojson"
)

// bundleTypePrefix starts the media and artifact type of every Sigstore
// bundle version ("...bundle+json;version=0.2", "...bundle.v0.3+json").
const bundleTypePrefix = "application/vnd.dev.sigstore.bundle"

// minBundleVersion is the oldest bundle cosign v3 (and so this package)
// accepts as a referrer.
const minBundleVersion = "v0.3"

// maxCandidates bounds how many signatures of one digest are checked, so
// that a repository flooded with referrers cannot make a run crawl.
const maxCandidates = 16

// candidate is one signature found for a digest: a bundle to verify, or
// the reason it cannot be one.
type candidate struct {
	where  string
	bundle *sgbundle.Bundle
	// payload is the signed simplesigning document of a .sig tag layer,
	// nil for a referrer bundle (whose DSSE statement names the digest).
	payload []byte
	err     error
}

// referrerBundles reads the Sigstore bundles among d's referrers (the
// referrers API, else the referrers tag, as go-containerregistry does).
func referrerBundles(d name.Digest, opts []remote.Option) ([]candidate, error) {
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", d, err)
	}
	var out []candidate
	for _, desc := range im.Manifests {
		if !strings.HasPrefix(desc.ArtifactType, bundleTypePrefix) {
			continue
		}
		if len(out) == maxCandidates {
			break
		}
		c := candidate{where: "referrer " + desc.Digest.String()}
		c.bundle, c.err = readReferrerBundle(d.Context().Digest(desc.Digest.String()), desc, opts)
		if c.err != nil && isRegistryError(c.err) {
			return nil, fmt.Errorf("reading %s of %s: %w", c.where, d, c.err)
		}
		out = append(out, c)
	}
	return out, nil
}

// readReferrerBundle fetches one referrer manifest and its single bundle
// layer, and refuses bundles older than v0.3 (by artifact type or by the
// bundle's own media type).
func readReferrerBundle(ref name.Digest, desc v1.Descriptor, opts []remote.Option) (*sgbundle.Bundle, error) {
	if v, err := bundleVersion(desc.ArtifactType); err == nil && !atLeast(v, minBundleVersion) {
		return nil, tooOld(v)
	}
	if desc.Size > MaxBlobSize {
		return nil, fmt.Errorf("manifest of %d bytes exceeds the %d-byte limit", desc.Size, MaxBlobSize)
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, err
	}
	mf, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	var layer *v1.Descriptor
	for i := range mf.Layers {
		if strings.HasPrefix(string(mf.Layers[i].MediaType), bundleTypePrefix) {
			if layer != nil {
				return nil, errors.New("more than one bundle layer")
			}
			layer = &mf.Layers[i]
		}
	}
	if layer == nil {
		return nil, errors.New("no Sigstore bundle layer")
	}
	raw, err := readLayer(img, *layer)
	if err != nil {
		return nil, err
	}
	pb := &protobundle.Bundle{}
	if err := protojson.Unmarshal(raw, pb); err != nil {
		return nil, fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	if v, err := bundleVersion(pb.GetMediaType()); err == nil && !atLeast(v, minBundleVersion) {
		return nil, tooOld(v)
	}
	// NewBundle refuses a media type it cannot read, so a bundle it
	// accepts has passed the version check above.
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("invalid Sigstore bundle: %w", err)
	}
	return b, nil
}

// tooOld is the refusal of a bundle older than v0.3.
func tooOld(v string) error {
	return fmt.Errorf("the Sigstore bundle is %s, older than %s, the oldest accepted (cosign v3 signs with %s); re-sign the image with cosign v3",
		v, minBundleVersion, minBundleVersion)
}

// bundleVersion reads "v0.3" out of a bundle media type, with sigstore-go's
// parser.
func bundleVersion(mediaType string) (string, error) {
	b := &sgbundle.Bundle{Bundle: &protobundle.Bundle{MediaType: mediaType}}
	return b.Version()
}

// atLeast compares bundle versions the way sigstore-go does.
func atLeast(v, min string) bool {
	b := &sgbundle.Bundle{Bundle: &protobundle.Bundle{MediaType: "application/vnd.dev.sigstore.bundle." + v + "+json"}}
	return b.MinVersion(min)
}

// readLayer reads one blob of img whole, refusing more than MaxBlobSize.
func readLayer(img v1.Image, desc v1.Descriptor) ([]byte, error) {
	if desc.Size > MaxBlobSize {
		return nil, fmt.Errorf("layer %s of %d bytes exceeds the %d-byte limit", desc.Digest, desc.Size, MaxBlobSize)
	}
	l, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, MaxBlobSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxBlobSize {
		return nil, fmt.Errorf("layer %s exceeds the %d-byte limit", desc.Digest, MaxBlobSize)
	}
	return raw, nil
}

// sigTagName is cosign's signature tag for d: sha256-<hex>.sig.
func sigTagName(d name.Digest) (name.Tag, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return name.Tag{}, err
	}
	return d.Context().Tag(h.Algorithm + "-" + h.Hex + ".sig"), nil
}

// isRegistryError tells a transport failure (retried by the caller) from
// a malformed signature (a refusal). A 404 of a listed referrer is a
// broken signature, not a flaky registry.
func isRegistryError(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode != http.StatusNotFound
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
