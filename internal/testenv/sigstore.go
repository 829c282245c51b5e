package testenv

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// Sigstore is a private Sigstore for tests, without the network:
// sigstore-go's VirtualSigstore (a Fulcio CA, a Rekor log key and a
// timestamp authority in memory). It signs images keylessly the way
// cosign v3 does (a bundle referrer) and the older way (the .sig tag),
// and writes the trusted_root.json that trusts it. A second Sigstore is
// an untrusted signer for the first one's root.
type Sigstore struct {
	vs *ca.VirtualSigstore
}

// The identity a Sigstore signs as unless told otherwise. The virtual
// Fulcio puts the identity in an email SAN.
const (
	SigstoreIssuer   = "https://issuer.example.com"
	SigstoreIdentity = "release@flux-mirror.example"
)

// NewSigstore makes a VirtualSigstore. Its CA and log keys are valid from
// a few hours before now to an hour after; its leaf certificates for ten
// minutes from signing.
func NewSigstore(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatalf("testenv: virtual sigstore: %v", err)
	}
	return &Sigstore{vs: vs}
}

// TrustedRoot is the Sigstore's trust root as sigstore-go parses it from
// the trusted_root.json TrustedRootJSON returns.
func (s *Sigstore) TrustedRoot(t testing.TB) *root.TrustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(s.TrustedRootJSON(t))
	if err != nil {
		t.Fatalf("testenv: parse trusted root: %v", err)
	}
	return tr
}

// WriteTrustedRoot writes the trusted_root.json to path, for a config's
// verify.trustedRoot or cosign's --trusted-root.
func (s *Sigstore) WriteTrustedRoot(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, s.TrustedRootJSON(t), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TrustedRootJSON is a trusted_root.json with the Sigstore's Fulcio CA,
// Rekor log and timestamp authority. It lists no certificate transparency
// log: the virtual Fulcio embeds no SCTs, so a verifier that requires them
// when a CT log is listed (cosign: unless --insecure-ignore-sct) accepts
// these certificates only without one.
func (s *Sigstore) TrustedRootJSON(t testing.TB) []byte {
	t.Helper()
	return s.trustedRootJSON(t, map[string]*root.TransparencyLog{})
}

// TrustedRootWithCTLog is the trust root with the virtual certificate
// transparency log listed too: a verifier that then requires SCTs refuses
// this Sigstore's certificates, which carry none.
func (s *Sigstore) TrustedRootWithCTLog(t testing.TB) *root.TrustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(s.trustedRootJSON(t, rawLogIDs(t, s.vs.CTLogs())))
	if err != nil {
		t.Fatalf("testenv: parse trusted root: %v", err)
	}
	return tr
}

// rawLogIDs copies logs with their IDs as raw bytes: the virtual Sigstore
// names its logs by the hex string's bytes, a trusted root holds the raw
// key ID (SHA-256 of the key), which is what log entries carry.
func rawLogIDs(t testing.TB, logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	t.Helper()
	out := map[string]*root.TransparencyLog{}
	for id, l := range logs {
		c := *l
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c.ID = raw
		out[id] = &c
	}
	return out
}

func (s *Sigstore) trustedRootJSON(t testing.TB, ctLogs map[string]*root.TransparencyLog) []byte {
	t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, s.vs.FulcioCertificateAuthorities(),
		ctLogs, s.vs.TimestampingAuthorities(), rawLogIDs(t, s.vs.RekorLogs()))
	if err != nil {
		t.Fatalf("testenv: trusted root: %v", err)
	}
	raw, err := tr.MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: trusted root: %v", err)
	}
	return raw
}

// chain is the Fulcio intermediate and root, as cosign's chain annotation
// holds them.
func (s *Sigstore) chain(t testing.TB) []*x509.Certificate {
	t.Helper()
	f, ok := s.vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	if !ok {
		t.Fatal("testenv: virtual sigstore: unexpected certificate authority type")
	}
	return append(append([]*x509.Certificate{}, f.Intermediates...), f.Root)
}

// logEntry is what cosign and a bundle keep of one Rekor v1 entry: body,
// time, index, log ID and the signed entry timestamp over them.
type logEntry struct {
	body           []byte
	integratedTime int64
	logIndex       int64
	logID          string
	set            []byte
}

// rekorEntry signs the entry timestamp of a virtual Rekor entry (the
// virtual Rekor keeps it unexported, so it is signed again, over the same
// canonical payload Rekor signs).
func (s *Sigstore) rekorEntry(t testing.TB, e *tlog.Entry) logEntry {
	t.Helper()
	tle := e.TransparencyLogEntry()
	return s.signEntry(t, logEntry{body: tle.GetCanonicalizedBody(), integratedTime: tle.GetIntegratedTime(),
		logIndex: tle.GetLogIndex(), logID: hex.EncodeToString(tle.GetLogId().GetKeyId())})
}

// cosignRekorBundle is cosign's dev.sigstore.cosign/bundle annotation.
func (le logEntry) cosignRekorBundle(t testing.TB) string {
	t.Helper()
	raw, err := json.Marshal(map[string]any{
		"SignedEntryTimestamp": le.set,
		"Payload": map[string]any{"body": base64.StdEncoding.EncodeToString(le.body),
			"integratedTime": le.integratedTime, "logIndex": le.logIndex, "logID": le.logID},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// SignOptions are the knobs of a test signature; the zero value signs
// the image's own digest as SigstoreIdentity from SigstoreIssuer, now,
// with a log entry, in a v0.3 bundle of cosign's signing predicate.
type SignOptions struct {
	Identity, Issuer string
	// Subject is the digest the signature is over; zero: the image's.
	// Another digest makes a valid signature of some other image.
	Subject string
	// IntegratedTime is the log entry's time; zero: the next second. A
	// keyless signature's must fall in its certificate's ten minutes
	// from signing; a key signature's (SignTagWithKey) anywhere in the
	// log's validity, from an hour before the trusted root was written,
	// which is how a test gets a signature old enough for minAge.
	IntegratedTime time.Time
	// CertExpired puts the log time after the certificate expired.
	CertExpired bool
	// NoLogEntry leaves the transparency log entry out.
	NoLogEntry bool
	// TamperPayload changes the signed payload after signing.
	TamperPayload bool
	// BundleVersion is the bundle's version ("v0.2" for an old one);
	// "": v0.3, as cosign v3 writes. Bundle referrers only.
	BundleVersion string
	// PredicateType of the signed statement; "": cosign's signing
	// predicate. Bundle referrers only.
	PredicateType string
}

// defaults fills the zero fields of o for an image of digest d.
func (o SignOptions) defaults(d string) SignOptions {
	if o.Identity == "" {
		o.Identity = SigstoreIdentity
	}
	if o.Issuer == "" {
		o.Issuer = SigstoreIssuer
	}
	if o.Subject == "" {
		o.Subject = d
	}
	if o.IntegratedTime.IsZero() {
		// The certificate is made after this and is valid from its
		// second on; the next second is inside its validity either way.
		o.IntegratedTime = time.Now().Truncate(time.Second).Add(time.Second)
	}
	if o.CertExpired {
		o.IntegratedTime = time.Now().Add(11 * time.Minute)
	}
	if o.BundleVersion == "" {
		o.BundleVersion = "v0.3"
	}
	if o.PredicateType == "" {
		o.PredicateType = CosignSignPredicate
	}
	return o
}

// CosignSignPredicate is the in-toto predicate type of the statement
// cosign v3 signs for an image.
const CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"
