package credential

import (
	"context"
	"errors"
)

// fromJWTSVID mints SPIFFE JWT-SVIDs from the Workload API.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromJWTSVID(_ context.Context, _ tokenRequest) (token, error) {
	return token{}, errors.New(`credential.provider "jwt-svid" is not supported yet`)
}
