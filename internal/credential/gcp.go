package credential

import (
	"context"
	"errors"
)

// fromGCP mints Google ID tokens through Application Default Credentials.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromGCP(_ context.Context, _ tokenRequest) (token, error) {
	return token{}, errors.New(`credential.provider "gcp" is not supported yet`)
}
