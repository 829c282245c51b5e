package sigverify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// cosignSignPredicate is the in-toto predicate type of the statement
// cosign v3 signs (cosign sign, new bundle format): a bundle referrer
// carrying any other predicate is an attestation, not a signature.
const cosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"

// checker verifies the candidates of one digest under one policy; the
// trust root is looked up once, when the first candidate needs checking.
type checker struct {
	v      *Verifier
	ctx    context.Context
	policy *Policy
	digest name.Digest
	trust  *trust
}

// best verifies cands and keeps the one with the oldest log time; when
// none verifies it returns why, one reason per candidate. Only an
// unavailable trust root is an error.
func (c *checker) best(cands []candidate) (*Result, []string, error) {
	var best *Result
	var reasons []string
	for _, cand := range cands {
		if c.trust == nil && cand.err == nil {
			tr, err := c.v.trustFor(c.ctx, c.policy)
			if err != nil {
				return nil, nil, err
			}
			c.trust = &tr
		}
		r, err := c.check(cand)
		if err != nil {
			reasons = append(reasons, cand.where+": "+err.Error())
			continue
		}
		if best == nil || older(r, best) {
			best = r
		}
	}
	return best, reasons, nil
}

// older reports whether a has a log time before b's (any log time beats
// none).
func older(a, b *Result) bool {
	return !a.IntegratedTime.IsZero() && (b.IntegratedTime.IsZero() || a.IntegratedTime.Before(b.IntegratedTime))
}

// check verifies one candidate with sigstore-go, keyless or by key as its
// verification material says, then what sigstore-go leaves to the caller:
// the statement's predicate type, or the payload's image digest.
func (c *checker) check(cand candidate) (*Result, error) {
	if cand.err != nil {
		return nil, cand.err
	}
	vc, err := cand.bundle.VerificationContent()
	if err != nil {
		return nil, err
	}
	artifact, err := c.artifact(cand)
	if err != nil {
		return nil, err
	}
	var res *verify.VerificationResult
	if vc.Certificate() != nil {
		res, err = c.keyless(cand, artifact)
	} else {
		res, err = c.keyed(cand, artifact)
	}
	if err != nil {
		return nil, err
	}
	if err := c.signs(cand, res); err != nil {
		return nil, err
	}
	return c.result(cand, res), nil
}

// artifact is what the signature must cover: the payload of a .sig layer
// (whose digest is checked after), else d itself, named in a DSSE
// statement. A referrer bundle with a bare message signature is not what
// cosign writes for an image.
func (c *checker) artifact(cand candidate) (verify.ArtifactPolicyOption, error) {
	if cand.payload != nil {
		return verify.WithArtifact(bytes.NewReader(cand.payload)), nil
	}
	if _, ok := cand.bundle.Content.(*protobundle.Bundle_DsseEnvelope); !ok {
		return nil, errors.New("the bundle holds no DSSE envelope (cosign signs an image as an in-toto statement)")
	}
	h, err := hex.DecodeString(strings.TrimPrefix(c.digest.DigestStr(), "sha256:"))
	if err != nil || !strings.HasPrefix(c.digest.DigestStr(), "sha256:") {
		return nil, fmt.Errorf("unsupported digest %s", c.digest.DigestStr())
	}
	return verify.WithArtifactDigest("sha256", h), nil
}

// keyless verifies a certificate signature like cosign's defaults: a
// transparency log entry, its integrated time (or, for Rekor v2 entries
// that have none, a signed timestamp) as the time the short-lived
// certificate must be valid at, and SCTs when the trust root lists
// certificate transparency logs (a private Sigstore may run none).
func (c *checker) keyless(cand candidate, artifact verify.ArtifactPolicyOption) (*verify.VerificationResult, error) {
	if len(c.policy.Identities) == 0 {
		return nil, errors.New("signed keyless with a certificate, but the policy only accepts verify.publicKey; add the signer to verify.matchOIDCIdentity")
	}
	if c.trust.root == nil {
		return nil, errors.New("no trust root for a keyless signature; " + offlineHint)
	}
	if err := c.trustedLogEntry(cand); err != nil {
		return nil, err
	}
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1)}
	if onlyRekorV2(cand) {
		opts = append(opts, verify.WithSignedTimestamps(1))
	} else {
		opts = append(opts, verify.WithIntegratedTimestamps(1))
	}
	if len(c.trust.root.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(c.trust.root, opts...)
	if err != nil {
		return nil, err
	}
	var ids []verify.PolicyOption
	for _, id := range c.policy.Identities {
		ci, err := verify.NewShortCertificateIdentity(id.Issuer, "", "", id.Subject)
		if err != nil {
			return nil, fmt.Errorf("identity %q from %q: %w", id.Subject, id.Issuer, err)
		}
		ids = append(ids, verify.WithCertificateIdentity(ci))
	}
	res, err := v.Verify(cand.bundle, verify.NewPolicy(artifact, ids...))
	if err != nil {
		return nil, fmt.Errorf("keyless signature (trust: %s): %w", c.trust.name, err)
	}
	return res, nil
}

// keyed verifies a signature by the policy's public key: with the log
// entry checked (and its time kept) when the bundle has one and a trust
// root is at hand, else at the current time.
func (c *checker) keyed(cand candidate, artifact verify.ArtifactPolicyOption) (*verify.VerificationResult, error) {
	if c.policy.PublicKey == nil {
		return nil, errors.New("signed with a key, but the policy has no verify.publicKey to check it with")
	}
	sv, err := signature.LoadDefaultVerifier(c.policy.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("verify.publicKey: %w", err)
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	var tm root.TrustedMaterial = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	opts := []verify.VerifierOption{verify.WithCurrentTime()}
	if entries, _ := cand.bundle.TlogEntries(); len(entries) > 0 && c.trust.root != nil {
		if err := c.trustedLogEntry(cand); err != nil {
			return nil, err
		}
		tm = root.TrustedMaterialCollection{tm, c.trust.root}
		// A key needs no time to be valid at; the integrated time is
		// kept for minAge, and Rekor v2 entries have none.
		opts = []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)}
		if onlyRekorV2(cand) {
			opts = []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithNoObserverTimestamps()}
		}
	}
	v, err := verify.NewVerifier(tm, opts...)
	if err != nil {
		return nil, err
	}
	res, err := v.Verify(cand.bundle, verify.NewPolicy(artifact, verify.WithKey()))
	if err != nil {
		return nil, fmt.Errorf("signature by verify.publicKey: %w", err)
	}
	return res, nil
}

// trustedLogEntry says plainly what sigstore-go reports as a threshold
// not met: a keyless signature, or a key signature whose log entry is
// checked, needs an entry in a log the root trusts.
func (c *checker) trustedLogEntry(cand candidate) error {
	entries, err := cand.bundle.TlogEntries()
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return errors.New("the keyless signature has no transparency log entry, which keyless verification requires")
	}
	logs := c.trust.root.RekorLogs()
	for _, e := range entries {
		if _, ok := logs[hex.EncodeToString([]byte(e.LogKeyID()))]; ok {
			return nil
		}
	}
	return fmt.Errorf("the signature's transparency log entry is in a log %s does not trust (log ID %x): recorded by another Sigstore instance",
		c.trust.name, entries[0].LogKeyID())
}

// onlyRekorV2 reports whether every log entry lacks an integrated time
// (Rekor v2), as cosign decides to require a signed timestamp instead.
func onlyRekorV2(cand candidate) bool {
	entries, err := cand.bundle.TlogEntries()
	if err != nil || len(entries) == 0 {
		return false
	}
	for _, e := range entries {
		if !e.IntegratedTime().IsZero() {
			return false
		}
	}
	return true
}

// signs checks that a verified signature is an image signature of d: a
// DSSE statement of cosign's signing predicate (sigstore-go has matched
// its subject to d), or a simple signing payload naming d.
func (c *checker) signs(cand candidate, res *verify.VerificationResult) error {
	if cand.payload != nil {
		h, err := payloadDigest(cand.payload)
		if err != nil {
			return err
		}
		if h.String() != c.digest.DigestStr() {
			return fmt.Errorf("the signed payload is for %s, another digest", h)
		}
		return nil
	}
	if res.Statement == nil {
		return errors.New("the DSSE envelope holds no in-toto statement")
	}
	if pt := res.Statement.GetPredicateType(); pt != cosignSignPredicate {
		return fmt.Errorf("the bundle is an attestation of predicate type %q, not a cosign signature (%s)", pt, cosignSignPredicate)
	}
	return nil
}

// result fills a Result from sigstore-go's verification result.
func (c *checker) result(cand candidate, res *verify.VerificationResult) *Result {
	r := &Result{Where: cand.where}
	if res.Signature != nil && res.Signature.Certificate != nil {
		r.Issuer = res.Signature.Certificate.Issuer
		r.Identity = res.Signature.Certificate.SubjectAlternativeName
	} else if c.policy.PublicKey != nil {
		if der, err := x509.MarshalPKIXPublicKey(c.policy.PublicKey); err == nil {
			sum := sha256.Sum256(der)
			r.KeyID = hex.EncodeToString(sum[:])
		}
	}
	for _, ts := range res.VerifiedTimestamps {
		if ts.Type == "Tlog" && (r.IntegratedTime.IsZero() || ts.Timestamp.Before(r.IntegratedTime)) {
			r.IntegratedTime = ts.Timestamp
		}
	}
	return r
}
