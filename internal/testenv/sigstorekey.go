package testenv

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// SignTagWithKey signs img (pushed to host/repo) with key the older cosign
// way, as `cosign sign --key` with a transparency log does: the .sig tag
// with the signature and, unless o.NoLogEntry, a Rekor hashedrekord entry
// of the public key recorded at o.IntegratedTime in the Sigstore's log
// (the real cosign needs a reachable Rekor for that). o.Subject and
// o.TamperPayload apply; identity and issuer do not.
func (s *Sigstore) SignTagWithKey(t testing.TB, host, repo string, img Pushed, key crypto.Signer, o SignOptions) {
	t.Helper()
	o = o.defaults(img.Digest.String())
	r := repository(t, host, repo)
	doc, err := (payload.Cosign{Image: r.Digest(o.Subject)}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ann := map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)}
	if !o.NoLogEntry {
		le := s.keyEntry(t, key.Public(), sum[:], sig)
		le.integratedTime = o.IntegratedTime.Unix()
		ann["dev.sigstore.cosign/bundle"] = s.signEntry(t, le).cosignRekorBundle(t)
	}
	if o.TamperPayload {
		doc = append(doc, ' ')
	}
	pushSigTag(t, host, repo, img.Digest, doc, ann)
}

// keyEntry is a Rekor hashedrekord entry of a key signature over digest,
// built and canonicalized by Rekor's own types, in the Sigstore's log.
func (s *Sigstore) keyEntry(t testing.TB, pub crypto.PublicKey, digest, sig []byte) logEntry {
	t.Helper()
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pe, err := types.NewProposedEntry(ctx, "hashedrekord", "0.0.1", types.ArtifactProperties{
		ArtifactHash: hex.EncodeToString(digest), SignatureBytes: sig, PublicKeyBytes: [][]byte{pem}, PKIFormat: "x509"})
	if err != nil {
		t.Fatalf("testenv: rekor entry: %v", err)
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		t.Fatalf("testenv: rekor entry: %v", err)
	}
	body, err := types.CanonicalizeEntry(ctx, entry)
	if err != nil {
		t.Fatalf("testenv: rekor entry: %v", err)
	}
	logID, err := s.vs.RekorLogID()
	if err != nil {
		t.Fatal(err)
	}
	return logEntry{body: body, logIndex: 2000, logID: logID}
}

// signEntry adds the signed entry timestamp the Sigstore's Rekor key
// makes over le's canonical payload.
func (s *Sigstore) signEntry(t testing.TB, le logEntry) logEntry {
	t.Helper()
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(le.body),
		IntegratedTime: le.integratedTime, LogIndex: le.logIndex, LogID: le.logID})
	if err != nil {
		t.Fatalf("testenv: sign entry timestamp: %v", err)
	}
	le.set = set
	return le
}
