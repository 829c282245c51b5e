// Package sigverify checks cosign signatures of OCI artifacts before they
// are mirrored: keyless ones against configured identities, key-signed ones
// against a public key, trusted through the Sigstore public-good root (TUF)
// or a trusted_root.json file. The cryptography, certificate, transparency
// log and timestamp checks are sigstore-go's; this package finds the
// signatures in a registry and turns them into Sigstore bundles.
package sigverify

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// MaxBlobSize caps every manifest, bundle and payload read from a
// registry: a signature is a few KiB, so a few MiB leaves room for long
// chains without letting a hostile registry exhaust memory.
const MaxBlobSize = 4 << 20

// ErrUnverified is wrapped by every refusal: nothing found, nothing
// verifies, a bundle too old, no trust root. Registry and network errors
// do not wrap it, so callers can retry those.
var ErrUnverified = errors.New("signature not verified")

// Identity is one accepted keyless signer.
type Identity struct {
	// Issuer is the OIDC issuer, matched exactly.
	Issuer string
	// Subject is an RE2 expression over the certificate identity,
	// unanchored like cosign's --certificate-identity-regexp.
	Subject string
}

// Policy is one artifact entry's verify block, ready to use.
type Policy struct {
	// Identities accepts keyless signatures by any one of them.
	Identities []Identity
	// PublicKey, when set, also accepts signatures by this key.
	PublicKey crypto.PublicKey
	// TrustedRoot, when set, replaces the Sigstore public-good root.
	TrustedRoot *root.TrustedRoot
	// MinAge is how old the signature's transparency log time must be.
	MinAge time.Duration
}

// Options configure a Verifier.
type Options struct {
	// Timeout bounds fetching the public-good trust root (TUF); 0: none.
	Timeout time.Duration
	// CacheDir is where TUF metadata is cached ("" = sigstore-go's
	// default, which cosign shares); an unwritable one means memory only.
	CacheDir string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Result is a verified signature.
type Result struct {
	// Issuer and Identity are the signing certificate's; empty for a key.
	Issuer, Identity string
	// KeyID is the SHA-256 of the public key (hex) for a key signature.
	KeyID string
	// IntegratedTime is the oldest verified transparency log time; zero
	// when the signature has none.
	IntegratedTime time.Time
	// Where says where the signature was found: "referrer sha256:..." or
	// "tag sha256-<hex>.sig".
	Where string
}

// Verifier checks signatures for one run; safe for concurrent use.
type Verifier struct {
	opts Options
	// publicGood is fetched at most once, lazily; its error is kept.
	publicGood struct {
		once sync.Once
		done chan struct{}
		root root.TrustedMaterial
		err  error
	}
}

// NewVerifier returns a Verifier; it fetches nothing until a policy needs
// the public-good root.
func NewVerifier(o Options) *Verifier {
	v := &Verifier{opts: o}
	v.publicGood.done = make(chan struct{})
	return v
}

// Now is the Verifier's clock (Options.Now, else time.Now), the time
// CheckAge measures ages at.
func (v *Verifier) Now() time.Time {
	if v.opts.Now != nil {
		return v.opts.Now()
	}
	return time.Now()
}

// Verify finds and checks the signatures of d (whose repository is the
// source repository), reading through opts. Sigstore bundles among d's
// referrers come first; cosign's sha256-<hex>.sig tag is read only when
// none of them verifies and sigTag says the tag exists (true when
// unknown). Of several verified signatures of one kind it returns the one
// with the oldest log time. Refusals wrap ErrUnverified; registry errors
// do not.
func (v *Verifier) Verify(ctx context.Context, p *Policy, d name.Digest, sigTag bool, opts ...remote.Option) (*Result, error) {
	if p == nil || (len(p.Identities) == 0 && p.PublicKey == nil) {
		return nil, fmt.Errorf("%s: %w: the policy has neither an identity nor a public key", d, ErrUnverified)
	}
	c := &checker{v: v, ctx: ctx, policy: p, digest: d}
	opts = append(opts[:len(opts):len(opts)], remote.WithContext(ctx))
	// Referrers first, cosign's tag only when no bundle verifies; the
	// trust root only once there is something to check, so that an
	// unsigned digest is refused without it.
	refs, err := referrerBundles(d, opts)
	if err != nil {
		return nil, err
	}
	r, reasons, err := c.best(refs)
	if r != nil || err != nil {
		return r, wrapDigest(d, err)
	}
	tag, err := sigTagName(d)
	if err != nil {
		return nil, err
	}
	tried := "Sigstore bundles among the referrers of " + d.DigestStr()
	if !sigTag {
		tried += "; the tag list has no " + tag.TagStr() + " tag"
	} else {
		tried += ", and cosign's " + tag.TagStr() + " tag"
		sigs, err := sigTagBundles(tag, opts)
		if err != nil {
			return nil, err
		}
		refs = append(refs, sigs...)
		r, more, err := c.best(sigs)
		if r != nil || err != nil {
			return r, wrapDigest(d, err)
		}
		reasons = append(reasons, more...)
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%s: %w: no signature found (looked for %s)", d, ErrUnverified, tried)
	}
	return nil, fmt.Errorf("%s: %w: %s", d, ErrUnverified, strings.Join(reasons, "; "))
}

// wrapDigest names d in err (nil stays nil).
func wrapDigest(d name.Digest, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", d, err)
}

// CheckAge applies p.MinAge to r at now: tooNew when the signature is
// younger, an error wrapping ErrUnverified when MinAge is set and r has
// no log time. age is now minus the log time (0 without one).
func (p *Policy) CheckAge(r *Result, now time.Time) (age time.Duration, tooNew bool, err error) {
	if r == nil || r.IntegratedTime.IsZero() {
		if p != nil && p.MinAge > 0 {
			where := ""
			if r != nil {
				where = " (" + r.Where + ")"
			}
			return 0, false, fmt.Errorf("%w: minAge %s needs a verified transparency log time and the signature%s has none; "+
				"sign with a log entry (for a key-signed image, also set verify.trustedRoot to check it) or drop minAge",
				ErrUnverified, p.MinAge, where)
		}
		return 0, false, nil
	}
	// A log clock a little ahead of ours is no negative age ("logged -1s
	// ago"); the signature is then as new as it gets.
	age = max(now.Sub(r.IntegratedTime), 0)
	return age, p != nil && p.MinAge > 0 && age < p.MinAge, nil
}
