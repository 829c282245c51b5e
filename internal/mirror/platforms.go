package mirror

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxConfigSize bounds the image config read to learn a single image's
// platform: configs are a few KiB, and a source must not make the engine
// buffer an arbitrary blob.
const maxConfigSize = 4 << 20

// selection is what a tag's destination must hold: the source tag's own
// manifest, or, when the entry names platforms and the source index has
// others too, a new index of the chosen children only.
type selection struct {
	// digest is the manifest the destination tag must hold.
	digest v1.Hash
	// filtered is set when the source index lost children: manifest is
	// then the new index and children the ones it keeps.
	filtered bool
	manifest rawManifest
	children []v1.Descriptor
	// source is the source tag's manifest when choosing platforms read
	// it, so that the copy does not read it again.
	source *rawManifest
}

// selectPlatforms applies the entry's platforms to the source tag, whose
// manifest sd describes. Without platforms it reads nothing.
//
// A child is chosen when its platform satisfies a listed one in
// go-containerregistry's sense (crane's --platform): the fields a listed
// platform leaves out match anything, so linux/arm takes every ARM
// variant, while linux/arm/v7 takes only v7. Every listed platform must
// choose a child, so that a platform the source dropped is an error, not
// a quietly smaller mirror.
func (m *Mirror) selectPlatforms(ctx context.Context, e Entry, src name.Repository, sd *v1.Descriptor) (*selection, error) {
	sel := &selection{digest: sd.Digest}
	if len(e.Platforms) == 0 {
		return sel, nil
	}
	ref := digestRef(src, sd.Digest)
	desc, err := m.puller.Get(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("read source %s: %w", ref, fromSource(err))
	}
	source := &rawManifest{raw: desc.Manifest, mediaType: desc.MediaType}
	switch mt := desc.MediaType; {
	case mt.IsIndex():
		sel, err := filterIndex(ref, sd.Digest, *source, e.Platforms)
		if sel != nil {
			sel.source = source
		}
		return sel, err
	case mt.IsImage():
		sel.source = source
		return sel, m.checkImagePlatform(ctx, ref, desc.Manifest, e.Platforms)
	default:
		return nil, permanent("source %s is a %s, which has no platform to select: remove platforms from the entry", ref, mt)
	}
}

// filterIndex returns the selection of want from the source index idx
// (digest d, at ref): the index unchanged when every child is chosen,
// else a new index that is the source's with only the chosen children in
// its manifests list.
func filterIndex(ref name.Digest, d v1.Hash, idx rawManifest, want []v1.Platform) (*selection, error) {
	parsed, err := v1.ParseIndexManifest(bytes.NewReader(idx.raw))
	if err != nil {
		return nil, permanent("source %s: invalid index: %w", ref, err)
	}
	found := make([]bool, len(want))
	var keep []int
	for i, c := range parsed.Manifests {
		chosen := false
		for j, w := range want {
			if c.Platform != nil && c.Platform.Satisfies(w) {
				found[j], chosen = true, true
			}
		}
		if chosen {
			keep = append(keep, i)
		}
	}
	var missing []v1.Platform
	for j, w := range want {
		if !found[j] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return nil, permanent("source %s has no %s: its platforms are %s; list only those in the entry's platforms",
			ref, platformNames(missing), platformList(parsed.Manifests))
	}
	sel := &selection{digest: d, manifest: idx}
	for _, i := range keep {
		sel.children = append(sel.children, parsed.Manifests[i])
	}
	if len(keep) == len(parsed.Manifests) {
		return sel, nil
	}
	raw, err := keepChildren(idx.raw, keep)
	if err != nil {
		return nil, permanent("source %s: invalid index: %w", ref, err)
	}
	sel.filtered, sel.manifest = true, rawManifest{raw: raw, mediaType: idx.mediaType}
	sel.digest, _, err = v1.SHA256(bytes.NewReader(raw))
	return sel, err
}

// keepChildren rewrites an index's JSON with only the children at keep in
// its manifests list. Every other field keeps its place and its bytes, and
// each child its bytes; only the whitespace between the index's own
// fields goes. The same source index and platforms so always give the
// same bytes, and so the same digest: that is what lets a later run find
// the destination up to date.
func keepChildren(raw []byte, keep []int) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var out bytes.Buffer
	out.WriteByte('{')
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("field %q appears twice", key)
		}
		seen[key] = true
		if key == "manifests" {
			var children []json.RawMessage
			if err := json.Unmarshal(value, &children); err != nil {
				return nil, err
			}
			kept := make([][]byte, len(keep))
			for i, k := range keep {
				kept[i] = children[k]
			}
			value = append(append([]byte{'['}, bytes.Join(kept, []byte{','})...), ']')
		}
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(value)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, errors.New("not a whole JSON object")
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// checkImagePlatform accepts a single image whose config names one of the
// wanted platforms; anything else fails: copying it would put a platform
// nobody asked for at the destination.
func (m *Mirror) checkImagePlatform(ctx context.Context, ref name.Digest, raw []byte, want []v1.Platform) error {
	mf, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return permanent("source %s: invalid manifest: %w", ref, err)
	}
	if !mf.Config.MediaType.IsConfig() {
		return permanent("source %s is an artifact (config %s), which has no platform to select: remove platforms from the entry",
			ref, mf.Config.MediaType)
	}
	if mf.Config.Size > maxConfigSize {
		return permanent("source %s: image config of %d bytes, more than the %d read to learn its platform", ref, mf.Config.Size, maxConfigSize)
	}
	cref := ref.Context().Digest(mf.Config.Digest.String())
	l, err := m.puller.Layer(ctx, cref)
	if err != nil {
		return fmt.Errorf("read source %s: %w", cref, fromSource(err))
	}
	rc, err := l.Compressed()
	if err != nil {
		return fmt.Errorf("read source %s: %w", cref, fromSource(err))
	}
	defer rc.Close()
	cf, err := v1.ParseConfigFile(io.LimitReader(rc, maxConfigSize))
	if err != nil {
		return permanent("source %s: invalid image config: %w", cref, err)
	}
	have := cf.Platform()
	for _, w := range want {
		if have != nil && have.Satisfies(w) {
			return nil
		}
	}
	return permanent("source %s is a single-platform image for %s, none of the entry's platforms (%s)",
		ref, platformName(have), platformNames(want))
}

// copySelection copies what sel says to the destination tag: the source
// tag as it is, or the chosen children and then the new index at the tag.
func (m *Mirror) copySelection(ctx context.Context, e Entry, src, dst name.Tag, sel *selection, res *TagResult) error {
	if !sel.filtered {
		return m.copyTag(ctx, e, src, dst, sel.digest, sel.source, res)
	}
	if err := m.copyChildren(ctx, src.Context(), dst.Context(), sel.children); err != nil {
		return err
	}
	// The children are in by digest: their referrers may follow, and the
	// tag comes last.
	if err := m.selectionReferrers(ctx, e, src.Context(), dst.Context(), sel, res); err != nil {
		return err
	}
	return m.putManifest(ctx, dst, sel.manifest)
}

// selectionReferrers mirrors the referrers that belong with sel. For a
// new index those are the chosen children's: the source index's own
// referrers (and cosign tags) name a digest the destination never holds,
// so they are left behind.
func (m *Mirror) selectionReferrers(ctx context.Context, e Entry, src, dst name.Repository, sel *selection, res *TagResult) error {
	if !sel.filtered {
		return m.mirrorReferrers(ctx, e, src, dst, sel.digest, res)
	}
	if !e.IncludeReferrers {
		return nil
	}
	var rows []ReferrerResult
	defer func() { res.Referrers = rows }()
	for _, c := range sel.children {
		var child TagResult
		err := m.mirrorReferrers(ctx, e, src, dst, c.Digest, &child)
		rows = append(rows, child.Referrers...)
		if err != nil {
			return fmt.Errorf("platform %s: %w", platformName(c.Platform), err)
		}
	}
	return nil
}

// platformList names the platforms of an index's children, once each, in
// their order.
func platformList(children []v1.Descriptor) string {
	var names []string
	for _, c := range children {
		if n := platformName(c.Platform); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func platformNames(ps []v1.Platform) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}

func platformName(p *v1.Platform) string {
	if p == nil || p.String() == "" {
		return "no platform"
	}
	return p.String()
}
