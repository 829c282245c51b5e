package sigverify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-openapi/runtime"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// The annotations cosign puts on each layer of a .sig tag manifest.
const (
	annSignature = "dev.cosignproject.cosign/signature"
	annCert      = "dev.sigstore.cosign/certificate"
	annChain     = "dev.sigstore.cosign/chain"
	annBundle    = "dev.sigstore.cosign/bundle"
	annTimestamp = "dev.sigstore.cosign/rfc3161timestamp"
)

// maxSigLayers bounds the layers of a .sig manifest read, as cosign does.
const maxSigLayers = maxCandidates

// legacyBundleType is the bundle version a .sig layer is rebuilt as: its
// Rekor entry carries a signed entry timestamp (an inclusion promise) and
// no inclusion proof, which is what v0.1 holds.
const legacyBundleType = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation: a Rekor
// entry and its signed entry timestamp.
type rekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	}
}

// rfc3161Timestamp is cosign's dev.sigstore.cosign/rfc3161timestamp
// annotation.
type rfc3161Timestamp struct {
	SignedRFC3161Timestamp []byte
}

// sigTagBundles reads cosign's .sig tag and rebuilds each layer into a
// bundle over its payload. A missing tag is no candidate, not an error.
func sigTagBundles(tag name.Tag, opts []remote.Option) ([]candidate, error) {
	desc, err := remote.Get(tag, opts...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("reading cosign's signature tag %s: %w", tag, err)
	}
	if desc.Size > MaxBlobSize {
		return nil, fmt.Errorf("%s: %w: manifest of %d bytes exceeds the %d-byte limit", tag, ErrUnverified, desc.Size, MaxBlobSize)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("reading cosign's signature tag %s: %w", tag, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading cosign's signature tag %s: %w", tag, err)
	}
	var out []candidate
	for i, l := range mf.Layers {
		if i == maxSigLayers {
			break
		}
		c := candidate{where: fmt.Sprintf("tag %s layer %d", tag.TagStr(), i)}
		c.payload, err = readLayer(img, l)
		if err != nil {
			if isRegistryError(err) {
				return nil, fmt.Errorf("reading %s: %w", c.where, err)
			}
			c.err = err
		} else {
			c.bundle, c.err = legacyBundle(c.payload, l.Annotations)
		}
		out = append(out, c)
	}
	return out, nil
}

// legacyBundle turns one .sig layer (its payload and annotations) into a
// Sigstore bundle with a message signature over the payload.
func legacyBundle(payload []byte, ann map[string]string) (*sgbundle.Bundle, error) {
	sig, err := base64.StdEncoding.DecodeString(ann[annSignature])
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("layer has no valid %s annotation", annSignature)
	}
	digest := sha256.Sum256(payload)
	vm := &protobundle.VerificationMaterial{}
	if cert := ann[annCert]; cert != "" {
		chain, err := certChain(cert, ann[annChain])
		if err != nil {
			return nil, err
		}
		vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: chain}
	} else {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	if raw := ann[annBundle]; raw != "" {
		tle, err := rekorEntry(raw)
		if err != nil {
			return nil, err
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{tle}
	}
	if raw := ann[annTimestamp]; raw != "" {
		var ts rfc3161Timestamp
		if err := json.Unmarshal([]byte(raw), &ts); err != nil {
			return nil, fmt.Errorf("%s annotation: %w", annTimestamp, err)
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts.SignedRFC3161Timestamp}}}
	}
	pb := &protobundle.Bundle{
		MediaType:            legacyBundleType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("rebuilding a bundle from the layer's annotations: %w", err)
	}
	return b, nil
}

// certChain is the leaf certificate followed by the chain annotation's
// certificates, all PEM.
func certChain(leafPEM, chainPEM string) (*protocommon.X509CertificateChain, error) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(leafPEM))
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("%s annotation is not one PEM certificate", annCert)
	}
	if chainPEM != "" {
		more, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(chainPEM))
		if err != nil {
			return nil, fmt.Errorf("%s annotation: %w", annChain, err)
		}
		certs = append(certs, more...)
	}
	out := &protocommon.X509CertificateChain{}
	for _, c := range certs {
		out.Certificates = append(out.Certificates, &protocommon.X509Certificate{RawBytes: c.Raw})
	}
	return out, nil
}

// rekorEntry turns cosign's bundle annotation into a transparency log
// entry with its inclusion promise; the entry's kind and version come from
// Rekor's own parser of the body.
func rekorEntry(raw string) (*protorekor.TransparencyLogEntry, error) {
	var rb rekorBundle
	if err := json.Unmarshal([]byte(raw), &rb); err != nil {
		return nil, fmt.Errorf("%s annotation: %w", annBundle, err)
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("%s annotation: body: %w", annBundle, err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("%s annotation: logID: %w", annBundle, err)
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		return nil, fmt.Errorf("%s annotation: Rekor entry: %w", annBundle, err)
	}
	entry, err := types.UnmarshalEntry(pe)
	if err != nil {
		return nil, fmt.Errorf("%s annotation: Rekor entry: %w", annBundle, err)
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          rb.Payload.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: pe.Kind(), Version: entry.APIVersion()},
		IntegratedTime:    rb.Payload.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}

// payloadDigest is the image digest a cosign simple signing payload
// signs (critical.image.docker-manifest-digest).
func payloadDigest(raw []byte) (v1.Hash, error) {
	var doc payload.SimpleContainerImage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return v1.Hash{}, fmt.Errorf("payload is not a cosign simple signing document: %w", err)
	}
	return v1.NewHash(doc.Critical.Image.DockerManifestDigest)
}
