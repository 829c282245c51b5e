package credential

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// errNotJWT says a token that should be a JWT is not one; like every error
// here it never quotes the token.
var errNotJWT = errors.New("the token is not a JWT")

// JWTExpiry returns the exp claim of a token shaped like a JWT (three
// base64url parts, a JSON payload with a numeric exp), or the zero time. It
// verifies nothing: it only tells when a token someone else issued, such as
// a projected ServiceAccount token, stops being accepted.
func JWTExpiry(token string) time.Time {
	exp, _ := parseJWTExpiry(token)
	return exp
}

// parseJWTExpiry is JWTExpiry for a source that must get a JWT: a token of
// another shape, or an exp that is not a positive number, is an error. A
// JWT without exp yields the zero time.
func parseJWTExpiry(token string) (time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, errNotJWT
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}, errNotJWT
	}
	if claims.Exp == nil {
		return time.Time{}, nil
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 {
		return time.Time{}, errors.New("the token's exp claim is not a positive number")
	}
	return time.Unix(int64(exp), 0), nil
}
