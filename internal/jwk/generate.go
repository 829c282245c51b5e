// Package jwk makes, stores, reads and signs with the JSON Web Keys that
// flux-mirror uses to mint its own JWTs: keygen writes a pair, and a host's
// jwkPath or jwkValue credential signs a fresh token with the private half.
package jwk

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// KeyType names the kind of key pair Generate makes. The accepted names are
// exactly the constants below; the empty string means Ed25519.
type KeyType string

const (
	// Ed25519 is an Ed25519 key pair that signs with EdDSA. The default.
	Ed25519 KeyType = "ed25519"
	// ECDSAP256 is an ECDSA key pair on curve P-256 that signs with ES256.
	ECDSAP256 KeyType = "ecdsa-p256"
	// RSA is a 3072-bit RSA key pair that signs with RS256, for verifiers
	// (such as AWS IAM or Microsoft Entra federation) that take no EdDSA.
	RSA KeyType = "rsa"
)

// RSABits is the modulus size of the RSA keys Generate makes.
const RSABits = 3072

// use is the "use" member of every generated key: signatures only.
const use = "sig"

// KeyTypes lists the names Generate accepts, the default first, for flag
// help and error messages.
func KeyTypes() []KeyType {
	return []KeyType{Ed25519, ECDSAP256, RSA}
}

// Generate makes a new key pair and returns it as two JWK sets of one key
// each: priv holds the private key, pub the public key. Both keys carry the
// same random key ID, "use": "sig" and the algorithm they sign with. The
// output is indented JSON ending in a newline, ready to write to a file.
func Generate(kt KeyType) (priv, pub []byte, err error) {
	signer, alg, err := newSigner(kt)
	if err != nil {
		return nil, nil, err
	}
	key := jose.JSONWebKey{
		Key:       signer,
		KeyID:     randomID(),
		Algorithm: string(alg),
		Use:       use,
	}
	priv, err = marshalSet(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	pub, err = marshalSet(key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encode public key: %w", err)
	}
	return priv, pub, nil
}

// newSigner makes the private key of one KeyType and names the algorithm it
// signs with.
func newSigner(kt KeyType) (crypto.Signer, jose.SignatureAlgorithm, error) {
	switch kt {
	case Ed25519, "":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, jose.EdDSA, err
	case ECDSAP256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k, jose.ES256, err
	case RSA:
		k, err := rsa.GenerateKey(rand.Reader, RSABits)
		return k, jose.RS256, err
	default:
		return nil, "", fmt.Errorf("unknown key type %q: want one of %v", string(kt), KeyTypes())
	}
}

// marshalSet encodes one key as a JWK set.
func marshalSet(key jose.JSONWebKey) ([]byte, error) {
	b, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key}}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// randomID returns 16 random bytes, base64url-encoded without padding: a
// key ID or a JWT ID.
func randomID() string {
	b := make([]byte, 16)
	// crypto/rand.Read never returns an error: it crashes the program instead.
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
