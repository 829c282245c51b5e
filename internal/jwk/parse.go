package jwk

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// minRSABits is the smallest RSA modulus ParsePrivate accepts.
const minRSABits = 2048

var errUnsupported = errors.New("JWK key type is not supported; want an Ed25519, ECDSA or RSA private key")

// ParsePrivate reads a private signing key from a JWK: either a bare key or
// a JWK set holding exactly one key. The key must be an Ed25519, ECDSA
// (P-256, P-384 or P-521) or RSA (2048 bits or more) private key. If the key
// names an "alg" it must be the one Sign uses for it, and if it names a "use"
// it must be "sig".
//
// Errors describe what is wrong without quoting the input, so they are safe
// to show even when the input is a secret.
func ParsePrivate(data []byte) (*jose.JSONWebKey, error) {
	raw, err := singleKey(data)
	if err != nil {
		return nil, err
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(raw); err != nil {
		return nil, scrub(err)
	}
	if err := checkPrivate(&key); err != nil {
		return nil, err
	}
	alg, err := algorithm(&key)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != string(alg) {
		return nil, fmt.Errorf("JWK has alg %q, but its key signs with %s; remove alg or set it to %s",
			key.Algorithm, alg, alg)
	}
	if key.Use != "" && key.Use != use {
		return nil, fmt.Errorf("JWK has use %q; a signing key needs use %q or none", key.Use, use)
	}
	return &key, nil
}

// singleKey returns the one key object in data, which holds a bare JWK or a
// JWK set.
func singleKey(data []byte) (json.RawMessage, error) {
	obj, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	rawKeys, isSet := obj["keys"]
	if !isSet {
		return data, nil
	}
	var keys []json.RawMessage
	if err := json.Unmarshal(rawKeys, &keys); err != nil {
		return nil, errors.New(`JWK set member "keys" is not an array`)
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("JWK set holds %d keys; want exactly one", len(keys))
	}
	if _, err := decodeObject(keys[0]); err != nil {
		return nil, fmt.Errorf("JWK set key: %w", err)
	}
	return keys[0], nil
}

// decodeObject decodes a JSON object without quoting data in its errors.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, errors.New("JWK is empty")
	}
	var obj map[string]json.RawMessage
	err := json.Unmarshal(data, &obj)
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &syntaxErr):
		return nil, fmt.Errorf("JWK is not valid JSON (error at byte %d)", syntaxErr.Offset)
	case err != nil || obj == nil:
		return nil, errors.New("JWK is not a JSON object")
	}
	return obj, nil
}

// scrub rewrites a go-jose decoding error so that it cannot quote the
// input: its JSON type errors carry the offending value (a number, say).
func scrub(err error) error {
	if errors.Is(err, jose.ErrUnsupportedKeyType) {
		return errUnsupported
	}
	var typeErr *josejson.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		// Its offset is relative to the member, not to data: leave it out.
		return errors.New("JWK member has the wrong JSON type; key parameters are base64url strings")
	}
	var syntaxErr *josejson.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("JWK is not valid JSON (error at byte %d)", syntaxErr.Offset)
	}
	return fmt.Errorf("invalid JWK: %s", strings.TrimPrefix(err.Error(), "go-jose/go-jose: "))
}

// checkPrivate refuses anything but an Ed25519, ECDSA or RSA private key.
func checkPrivate(key *jose.JSONWebKey) error {
	switch k := key.Key.(type) {
	case ed25519.PrivateKey, *ecdsa.PrivateKey:
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("JWK is a %d-bit RSA key; want at least %d bits", bits, minRSABits)
		}
	case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		return fmt.Errorf("JWK is a public key; use the private key (%s, not %s)", PrivateKeyFile, PublicKeyFile)
	case []byte:
		return errors.New(`JWK is a symmetric ("oct") key; want an Ed25519, ECDSA or RSA private key`)
	default:
		return errUnsupported
	}
	if !key.Valid() {
		return errors.New("JWK is missing key parameters")
	}
	return nil
}

// algorithm names the JWS algorithm a private key signs with.
func algorithm(key *jose.JSONWebKey) (jose.SignatureAlgorithm, error) {
	switch k := key.Key.(type) {
	case ed25519.PrivateKey:
		return jose.EdDSA, nil
	case *rsa.PrivateKey:
		return jose.RS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", errors.New("JWK is an ECDSA key on an unsupported curve; want P-256, P-384 or P-521")
	default:
		return "", errors.New("JWK is not an Ed25519, ECDSA or RSA private key")
	}
}
