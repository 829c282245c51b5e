package credential

import (
	"context"
	"fmt"

	"github.com/fluxcd/flux-mirror/internal/config"
	"github.com/fluxcd/flux-mirror/internal/jwk"
)

// fromJWKPath yields a JWT freshly signed with the private key in the file
// credential.jwkPath.
func fromJWKPath(_ context.Context, req tokenRequest) (token, error) {
	field := fmt.Sprintf("credential.jwkPath %q", req.cred.JWKPath)
	data, err := ReadFile(req.root, req.cred.JWKPath)
	if err != nil {
		return token{}, fmt.Errorf("read %s: %w", field, err)
	}
	return signJWT(field, data, req)
}

// fromJWKValue yields a JWT freshly signed with the inline private key
// credential.jwkValue.
func fromJWKValue(_ context.Context, req tokenRequest) (token, error) {
	var data []byte
	if req.cred.JWKValue != nil {
		data = []byte(*req.cred.JWKValue)
	}
	return signJWT("credential.jwkValue", data, req)
}

// signJWT signs the request's claims with the private JWK in data; field
// names where data came from, for errors.
func signJWT(field string, data []byte, req tokenRequest) (token, error) {
	key, err := jwk.ParsePrivate(data)
	if err != nil {
		return token{}, fmt.Errorf("%s: %w", field, err)
	}
	lifetime := req.cred.Expiration
	if lifetime == 0 {
		lifetime = config.DefaultJWTLifetime
	}
	signed, expiresAt, err := jwk.Sign(key, jwk.Claims{
		Issuer:   req.cred.Issuer,
		Subject:  req.cred.Subject,
		Audience: req.audiences,
		Lifetime: lifetime,
	})
	if err != nil {
		return token{}, fmt.Errorf("%s: %w", field, err)
	}
	return token{value: signed, expiresAt: expiresAt}, nil
}
