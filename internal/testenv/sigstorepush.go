package testenv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/swag/conv"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	intotov1 "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	rekortle "github.com/sigstore/rekor/pkg/tle"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// SignBundle signs img (pushed to host/repo) keylessly as cosign v3 does
// and pushes the Sigstore bundle as an OCI referrer of it (artifact type
// application/vnd.dev.sigstore.bundle.v0.3+json; the referrers API or the
// referrers tag, as the registry supports). It returns the referrer's
// digest.
func (s *Sigstore) SignBundle(t testing.TB, host, repo string, img Pushed, o SignOptions) v1.Hash {
	t.Helper()
	o = o.defaults(img.Digest.String())
	raw := s.bundle(t, o)
	mt, err := sgbundle.MediaTypeString(o.BundleVersion)
	if err != nil {
		t.Fatalf("testenv: bundle version %s: %v", o.BundleVersion, err)
	}
	r := repository(t, host, repo)
	empty := []byte("{}")
	cfg := pushBlob(t, r, empty, "application/vnd.oci.empty.v1+json")
	layer := pushBlob(t, r, raw, types.MediaType(mt))
	mf := map[string]any{
		"schemaVersion": 2, "mediaType": types.OCIManifestSchema1, "artifactType": mt,
		"config": cfg, "layers": []v1.Descriptor{layer},
		"subject": v1.Descriptor{MediaType: img.MediaType, Digest: img.Digest, Size: img.Size},
		"annotations": map[string]string{
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": o.PredicateType,
			"org.opencontainers.image.created":  time.Now().UTC().Format(time.RFC3339),
		},
	}
	mfRaw, err := json.Marshal(mf)
	if err != nil {
		t.Fatal(err)
	}
	return putManifest(t, r, "", mfRaw, types.OCIManifestSchema1).Digest
}

// bundle is the protojson of a bundle holding a DSSE envelope of an
// in-toto statement about o.Subject, signed by a fresh virtual Fulcio
// certificate, with its log entry (inclusion promise and proof) and an
// RFC 3161 timestamp.
func (s *Sigstore) bundle(t testing.TB, o SignOptions) []byte {
	t.Helper()
	alg, hexDigest, _ := strings.Cut(o.Subject, ":")
	st := &intotov1.Statement{Type: intotov1.StatementTypeUri, PredicateType: o.PredicateType,
		Subject:   []*intotov1.ResourceDescriptor{{Digest: map[string]string{alg: hexDigest}}},
		Predicate: &structpb.Struct{}}
	stmt, err := protojson.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := s.vs.AttestAtTime(o.Identity, o.Issuer, stmt, o.IntegratedTime, false)
	if err != nil {
		t.Fatalf("testenv: virtual sigstore attest: %v", err)
	}
	sc, _ := ent.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	signed, _ := base64.StdEncoding.DecodeString(env.Payload)
	sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if o.TamperPayload {
		signed = bytes.Replace(signed, []byte(`"predicate":{}`), []byte(`"predicate":{"tampered":true}`), 1)
	}
	vc, _ := ent.VerificationContent()
	vm := &protobundle.VerificationMaterial{
		Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
	}
	s.addTimestamps(t, vm, ent.Timestamps)
	if !o.NoLogEntry {
		entries, _ := ent.TlogEntries()
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{s.provenEntry(t, s.rekorEntry(t, entries[0]))}
	}
	pb := &protobundle.Bundle{VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: signed, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}}}
	pb.MediaType, err = sgbundle.MediaTypeString(o.BundleVersion)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// addTimestamps puts the entity's RFC 3161 timestamps into vm.
func (s *Sigstore) addTimestamps(t testing.TB, vm *protobundle.VerificationMaterial, get func() ([][]byte, error)) {
	t.Helper()
	tss, err := get()
	if err != nil {
		t.Fatal(err)
	}
	vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
	for _, ts := range tss {
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
}

// provenEntry is le as a bundle v0.2+ holds it: with an inclusion proof
// from the virtual Rekor (a bundle from v0.2 on requires one) besides the
// signed entry timestamp, converted by Rekor's own code.
func (s *Sigstore) provenEntry(t testing.TB, le logEntry) *protorekor.TransparencyLogEntry {
	t.Helper()
	proof, err := s.vs.GetInclusionProof(le.body)
	if err != nil {
		t.Fatalf("testenv: inclusion proof: %v", err)
	}
	tle, err := rekortle.GenerateTransparencyLogEntry(models.LogEntryAnon{
		Body: base64.StdEncoding.EncodeToString(le.body), IntegratedTime: conv.Pointer(le.integratedTime),
		LogIndex: conv.Pointer(le.logIndex), LogID: conv.Pointer(le.logID),
		Verification: &models.LogEntryAnonVerification{SignedEntryTimestamp: le.set, InclusionProof: proof},
	})
	if err != nil {
		t.Fatalf("testenv: log entry: %v", err)
	}
	return tle
}

// SignTag signs img (pushed to host/repo) keylessly the older cosign way
// and pushes cosign's sha256-<hex>.sig tag: one simple signing payload
// layer whose annotations hold the signature, certificate, chain, Rekor
// bundle (entry and signed entry timestamp) and RFC 3161 timestamp.
func (s *Sigstore) SignTag(t testing.TB, host, repo string, img Pushed, o SignOptions) {
	t.Helper()
	o = o.defaults(img.Digest.String())
	r := repository(t, host, repo)
	doc, err := (payload.Cosign{Image: r.Digest(o.Subject)}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	ent, err := s.vs.SignAtTime(o.Identity, o.Issuer, doc, o.IntegratedTime)
	if err != nil {
		t.Fatalf("testenv: virtual sigstore sign: %v", err)
	}
	sc, _ := ent.SignatureContent()
	vc, _ := ent.VerificationContent()
	leaf, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	chain, err := cryptoutils.MarshalCertificatesToPEM(s.chain(t))
	if err != nil {
		t.Fatal(err)
	}
	ann := map[string]string{
		"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sc.Signature()),
		"dev.sigstore.cosign/certificate":    string(leaf),
		"dev.sigstore.cosign/chain":          string(chain),
	}
	if tss, _ := ent.Timestamps(); len(tss) > 0 {
		ts, _ := json.Marshal(map[string][]byte{"SignedRFC3161Timestamp": tss[0]})
		ann["dev.sigstore.cosign/rfc3161timestamp"] = string(ts)
	}
	if !o.NoLogEntry {
		entries, _ := ent.TlogEntries()
		ann["dev.sigstore.cosign/bundle"] = s.rekorEntry(t, entries[0]).cosignRekorBundle(t)
	}
	if o.TamperPayload {
		doc = bytes.Replace(doc, []byte(`"optional":null`), []byte(`"optional":{"tampered":"yes"}`), 1)
	}
	pushSigTag(t, host, repo, img.Digest, doc, ann)
}

// pushBlob uploads raw to r and returns its descriptor.
func pushBlob(t testing.TB, r name.Repository, raw []byte, mt types.MediaType) v1.Descriptor {
	t.Helper()
	d := v1.Descriptor{MediaType: mt, Size: int64(len(raw))}
	d.Digest, _, _ = v1.SHA256(bytes.NewReader(raw))
	if err := remote.WriteLayer(r, staticLayer{raw: raw, d: d}); err != nil {
		t.Fatalf("testenv: push blob: %v", err)
	}
	return d
}

// SimpleSigningType is the media type of a cosign .sig tag's layers.
const SimpleSigningType = "application/vnd.dev.cosign.simplesigning.v1+json"

// pushSigTag pushes cosign's sha256-<hex>.sig tag for d in host/repo: an
// image of one simple signing layer (doc) with the annotations ann.
func pushSigTag(t testing.TB, host, repo string, d v1.Hash, doc []byte, ann map[string]string) {
	t.Helper()
	r := repository(t, host, repo)
	layer := pushBlob(t, r, doc, SimpleSigningType)
	layer.Annotations = ann
	cfgRaw, _ := json.Marshal(map[string]any{"architecture": "", "os": "", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layer.Digest.String()}}})
	cfg := pushBlob(t, r, cfgRaw, types.OCIConfigJSON)
	raw, _ := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cfg, Layers: []v1.Descriptor{layer}})
	putManifest(t, r, d.Algorithm+"-"+d.Hex+".sig", raw, types.OCIManifestSchema1)
}
