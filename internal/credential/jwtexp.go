package credential

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// JWTExpiry returns the exp claim of a token shaped like a JWT (three
// base64url parts, a JSON payload with a numeric exp), or the zero time. It
// verifies nothing: it only tells when a token someone else issued, such as
// a projected ServiceAccount token, stops being accepted.
func JWTExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return time.Time{}
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(exp), 0)
}
