package jwk

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ClockSkew is how far before its issue time a signed token becomes valid,
// so that a verifier whose clock runs slightly behind still accepts it.
const ClockSkew = 30 * time.Second

// Claims are the claims Sign puts in a token.
type Claims struct {
	// Issuer is the "iss" claim; required.
	Issuer string
	// Subject is the "sub" claim; required.
	Subject string
	// Audience is the "aud" claim; required. One audience is written as a
	// string, several as an array (RFC 7519, section 4.1.3).
	Audience []string
	// Lifetime is how long after Now the token expires; must be positive.
	Lifetime time.Duration
	// Now is the issue time; the zero value means time.Now().
	Now time.Time
}

// Sign returns a compact JWT signed with key, a key from ParsePrivate, and
// the time it expires. The algorithm follows the key: Ed25519 signs with
// EdDSA, ECDSA P-256, P-384 and P-521 with ES256, ES384 and ES512, RSA with
// RS256. The header carries "typ": "JWT" and the key's ID as "kid" when it
// has one. Besides iss, sub and aud the token holds iat (Now), nbf (Now
// minus ClockSkew), exp (Now plus Lifetime) and a random jti. Times are
// whole seconds, and expiresAt equals exp.
func Sign(key *jose.JSONWebKey, c Claims) (token string, expiresAt time.Time, err error) {
	if key == nil {
		return "", time.Time{}, errors.New("sign: no key")
	}
	if err := c.check(); err != nil {
		return "", time.Time{}, fmt.Errorf("sign: %w", err)
	}
	alg, err := algorithm(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign: %w", err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign: %w", err)
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.Truncate(time.Second)
	expiresAt = now.Add(c.Lifetime).Truncate(time.Second)
	claims := jwt.Claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  jwt.Audience(c.Audience),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-ClockSkew)),
		Expiry:    jwt.NewNumericDate(expiresAt),
		ID:        randomID(),
	}
	token, err = jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign: %w", err)
	}
	return token, expiresAt, nil
}

// check refuses claims that would make a token no verifier accepts.
func (c Claims) check() error {
	switch {
	case c.Issuer == "":
		return errors.New("issuer is empty")
	case c.Subject == "":
		return errors.New("subject is empty")
	case len(c.Audience) == 0 || slices.Contains(c.Audience, ""):
		return errors.New("audience is empty")
	case c.Lifetime <= 0:
		return fmt.Errorf("lifetime %s is not positive", c.Lifetime)
	}
	return nil
}
