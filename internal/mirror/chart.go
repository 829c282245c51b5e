package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/fluxcd/flux-mirror/internal/helmrepo"
)

// Chart makes an entry a charts entry: versions of one chart of an HTTP
// chart repository, each pushed into the entry's Destination repository
// as a Helm OCI artifact tagged with its version ('+' written as '_',
// which tags cannot hold).
type Chart struct {
	// Name is the chart's name in the repository's index.
	Name string
	// Repository reads the chart repository.
	Repository *helmrepo.Client
}

// ChartTag is the destination tag of chart version v.
func ChartTag(v string) string { return strings.ReplaceAll(v, "+", "_") }

// runChartEntry plans a charts entry (read the index, select versions)
// and runs one job per version.
func (m *Mirror) runChartEntry(ctx context.Context, index int, e Entry, s *schedule, res *EntryResult) {
	dst, err := name.NewRepository(e.Destination, m.nameOptions()...)
	if err != nil {
		res.Err = fmt.Errorf("destination %q: %w", e.Destination, err)
		return
	}
	var idx *helmrepo.Index
	_, err = m.attempt(ctx, func(ctx context.Context) error {
		var ierr error
		idx, ierr = e.Chart.Repository.Index(ctx)
		return httpPermanent(ierr)
	}, func(n int, wait time.Duration, err error) {
		m.emit(Event{Kind: Retrying, Entry: index, Source: e.Source, Attempt: n, Wait: wait, Err: err})
	})
	if err != nil {
		res.Err = fmt.Errorf("read the index of %s: %w", e.Chart.Repository.URL, err)
		return
	}
	versions, ok := idx.Versions(e.Chart.Name)
	if !ok {
		res.Err = fmt.Errorf("chart %q is not in the index of %s: check the chart's name (helm search repo lists it)", e.Chart.Name, e.Chart.Repository.URL)
		return
	}
	byVersion := make(map[string]*helmrepo.ChartVersion, len(versions))
	list := make([]string, 0, len(versions))
	for _, v := range versions {
		if _, dup := byVersion[v.Version]; !dup {
			byVersion[v.Version] = v
			list = append(list, v.Version)
		}
	}
	selected := list
	if e.Selector != nil {
		selected, res.Excluded = e.Selector.Select(list)
	}
	m.emit(Event{Kind: EntryPlanned, Entry: index, Source: e.Source, Tags: selected, Excluded: res.Excluded})
	res.Tags = m.runJobs(ctx, index, selected, s, nil, func(ctx context.Context, version string) TagResult {
		cv := byVersion[version]
		return m.job(ctx, index, e, version, func(ctx context.Context) (TagResult, error) {
			return m.decideChart(ctx, e, dst.Tag(ChartTag(version)), cv)
		})
	})
}

// decideChart applies the decision table to one chart version: the
// destination tag is up to date when its chart layer is the archive.
// The archive's digest comes from the index when it is there, so that an
// up-to-date or drifted version costs no download.
func (m *Mirror) decideChart(ctx context.Context, e Entry, dst name.Tag, cv *helmrepo.ChartVersion) (TagResult, error) {
	res := TagResult{DestinationTag: dst.TagStr()}
	var archive *chartArchive
	want := cv.Digest
	if want != "" {
		res.Digest = "sha256:" + want
	}
	have, missing, err := m.chartAt(ctx, dst)
	if err != nil {
		return res, err
	}
	if !missing && want == "" {
		// The index has no digest: read the archive to know it.
		if archive, err = m.readChart(ctx, e, cv); err != nil {
			return res, err
		}
		res.Digest = archive.digest.String()
	}
	switch {
	case !missing && have.String() == res.Digest:
		res.Status, res.Reason = StatusSkipped, ReasonUpToDate
		return res, nil
	case !missing:
		res.DestinationDigest = have.String()
		if !e.Overwrite {
			res.Status = StatusDrifted
			return res, nil
		}
	}
	if m.opts.DryRun {
		res.Status = map[bool]string{true: StatusWouldCopy, false: StatusWouldOverwrite}[missing]
		return res, nil
	}
	switch {
	case archive != nil:
	case want == "":
		// Without the index's digest the upload cannot start before the
		// archive was read: read it once to hash it, once to upload it.
		if archive, err = m.readChart(ctx, e, cv); err != nil {
			return res, err
		}
		res.Digest = archive.digest.String()
	default:
		// The index gave the digest: one read of the archive feeds the
		// upload and the Chart.yaml the config is made of.
		if archive, err = m.streamChart(ctx, e, dst, cv); err != nil {
			return res, err
		}
	}
	if err := m.pushChart(ctx, e, dst, cv, archive); err != nil {
		return res, err
	}
	res.Status = map[bool]string{true: StatusCopied, false: StatusOverwritten}[missing]
	return res, nil
}

// chartAt reads the destination tag and returns its chart layer's digest;
// missing says the tag does not exist. A tag that holds anything but a
// Helm chart fails: it is not this entry's to decide about.
func (m *Mirror) chartAt(ctx context.Context, dst name.Tag) (v1.Hash, bool, error) {
	desc, err := m.puller.Get(ctx, dst)
	if isStatus(err, http.StatusNotFound) {
		return v1.Hash{}, true, nil
	}
	if err != nil {
		return v1.Hash{}, false, fmt.Errorf("read destination %s: %w%s", dst, err, hint(err, dst.RegistryStr()))
	}
	notChart := func(what string) error {
		return permanent("destination %s exists and is not a Helm chart (%s): mirror the chart to another repository or remove that tag", dst, what)
	}
	if desc.MediaType.IsIndex() {
		return v1.Hash{}, false, notChart("an image index")
	}
	mf, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return v1.Hash{}, false, notChart(err.Error())
	}
	if mf.Config.MediaType != helmrepo.ConfigMediaType {
		return v1.Hash{}, false, notChart("config media type " + string(mf.Config.MediaType))
	}
	for _, l := range mf.Layers {
		if l.MediaType == helmrepo.ChartMediaType {
			return l.Digest, false, nil
		}
	}
	return v1.Hash{}, false, notChart("no chart layer")
}

// chartArchive is what one read of a chart archive learned.
type chartArchive struct {
	digest v1.Hash
	size   int64
	meta   *helmrepo.Metadata
	// uploaded says the read was the upload: the destination has it.
	uploaded bool
}

// readChart reads a chart version's archive once, whole, hashing it and
// taking its Chart.yaml, without keeping it: the upload reads it again.
func (m *Mirror) readChart(ctx context.Context, e Entry, cv *helmrepo.ChartVersion) (*chartArchive, error) {
	body, _, err := e.Chart.Repository.Open(ctx, cv.URLs[0])
	if err != nil {
		return nil, httpPermanent(err)
	}
	defer body.Close()
	h := sha256.New()
	var size byteCount
	meta, err := helmrepo.ReadMetadata(io.TeeReader(&countingReader{ReadCloser: body, n: &m.bytes}, io.MultiWriter(h, &size)))
	if err != nil {
		return nil, permanent("chart %s %s: %w", cv.Name, cv.Version, err)
	}
	a := &chartArchive{digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, size: int64(size), meta: meta}
	if cv.Digest != "" && a.digest.Hex != cv.Digest {
		return nil, fmt.Errorf("chart %s %s: the archive's digest is %s, the index says sha256:%s: the repository changed under us or serves a corrupt archive", cv.Name, cv.Version, a.digest, cv.Digest)
	}
	if meta.Name != cv.Name || meta.Version != cv.Version {
		return nil, permanent("chart %s %s: the archive holds %s %s: the index does not match the archive", cv.Name, cv.Version, meta.Name, meta.Version)
	}
	return a, nil
}

// pushChart uploads a chart version as a Helm OCI artifact and writes its
// manifest at dst last. The manifest holds nothing that varies between
// runs, so the same chart gives the same manifest digest anywhere.
func (m *Mirror) pushChart(ctx context.Context, e Entry, dst name.Tag, cv *helmrepo.ChartVersion, a *chartArchive) error {
	config, err := a.meta.Config()
	if err != nil {
		return permanent("chart %s %s: %w", cv.Name, cv.Version, err)
	}
	cl := static.NewLayer(config, helmrepo.ConfigMediaType)
	cd, _ := cl.Digest()
	layers := []v1.Layer{cl}
	if !a.uploaded {
		layers = append(layers, &chartBlob{ctx: ctx, m: m, e: e, cv: cv, a: a})
	}
	for _, l := range layers {
		if err := m.pusher.Upload(ctx, dst.Context(), l); err != nil {
			return fmt.Errorf("write %s: %w", dst.Context(), err)
		}
	}
	mf := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: helmrepo.ConfigMediaType, Digest: cd, Size: int64(len(config))},
		Layers:        []v1.Descriptor{{MediaType: helmrepo.ChartMediaType, Digest: a.digest, Size: a.size}},
		Annotations:   a.meta.OCIAnnotations(),
	}
	raw, err := json.Marshal(mf)
	if err != nil {
		return permanent("chart %s %s: %w", cv.Name, cv.Version, err)
	}
	if err := m.pusher.Put(ctx, dst, rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}

// chartBlob is a chart archive streamed from its repository when the
// upload reads it (not at all when the destination has it already).
type chartBlob struct {
	ctx context.Context
	m   *Mirror
	e   Entry
	cv  *helmrepo.ChartVersion
	a   *chartArchive
}

func (c *chartBlob) Digest() (v1.Hash, error)            { return c.a.digest, nil }
func (c *chartBlob) Size() (int64, error)                { return c.a.size, nil }
func (c *chartBlob) MediaType() (types.MediaType, error) { return helmrepo.ChartMediaType, nil }

// Compressed opens the archive again; go-containerregistry checks its
// digest as it is read, so an archive changed since it was hashed fails.
func (c *chartBlob) Compressed() (io.ReadCloser, error) {
	body, _, err := c.e.Chart.Repository.Open(c.ctx, c.cv.URLs[0])
	if err != nil {
		return nil, httpPermanent(err)
	}
	return &countingReader{ReadCloser: body, n: &c.m.bytes}, nil
}

func (c *chartBlob) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("chart archive: diff ID not needed for a push")
}

func (c *chartBlob) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("chart archive: uncompressed content not needed for a push")
}

// httpPermanent marks a chart repository's answer that another attempt
// cannot change (401, 403, 404...) as permanent.
func httpPermanent(err error) error {
	var se *helmrepo.StatusError
	if errors.As(err, &se) && se.Permanent() {
		return &permanentError{err: err}
	}
	return err
}

// byteCount counts what is written to it.
type byteCount int64

func (c *byteCount) Write(p []byte) (int, error) { *c += byteCount(len(p)); return len(p), nil }
