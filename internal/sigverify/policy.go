package sigverify

import (
	"crypto"
	"fmt"
	"regexp"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/credential"
)

// NewPolicy builds a Policy from an artifact's verify block, reading
// trustedRoot and publicKey confined to dir. Errors name the field
// relative to the verify block ("trustedRoot: ..."); the caller prefixes
// the block's path.
func NewPolicy(v *config.Verify, dir string) (*Policy, error) {
	if v == nil {
		return nil, nil
	}
	p := &Policy{}
	for i, id := range v.MatchOIDCIdentity {
		if _, err := regexp.Compile(id.Subject); err != nil {
			return nil, fmt.Errorf("matchOIDCIdentity[%d].subject: %w", i, err)
		}
		p.Identities = append(p.Identities, Identity{Issuer: id.Issuer, Subject: id.Subject})
	}
	if v.MinAge != "" {
		d, err := time.ParseDuration(v.MinAge)
		if err != nil {
			return nil, fmt.Errorf("minAge: %w", err)
		}
		p.MinAge = d
	}
	if v.TrustedRoot != "" {
		tr, err := readTrustedRoot(dir, v.TrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("trustedRoot: %w", err)
		}
		p.TrustedRoot = tr
	}
	if v.PublicKey != "" {
		k, err := readPublicKey(dir, v.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("publicKey: %w", err)
		}
		p.PublicKey = k
	}
	return p, nil
}

// readTrustedRoot parses a Sigstore trusted_root.json with sigstore-go.
func readTrustedRoot(dir, path string) (*root.TrustedRoot, error) {
	raw, err := credential.ReadFile(dir, path)
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Sigstore trusted_root.json (as `cosign trusted-root create` writes): %w", path, err)
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 && len(tr.RekorLogs()) == 0 && len(tr.TimestampingAuthorities()) == 0 {
		return nil, fmt.Errorf("%s is not a Sigstore trusted_root.json: it lists no certificate authority, transparency log or timestamp authority", path)
	}
	return tr, nil
}

// readPublicKey parses a PEM public key (cosign.pub).
func readPublicKey(dir, path string) (crypto.PublicKey, error) {
	raw, err := credential.ReadFile(dir, path)
	if err != nil {
		return nil, err
	}
	k, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PEM public key (as cosign.pub): %w", path, err)
	}
	return k, nil
}
