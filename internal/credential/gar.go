package credential

import (
	"context"
	"errors"
)

// fromGAR mints Google Artifact Registry access tokens.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromGAR(_ context.Context, _ registryRequest) (Credential, error) {
	return Credential{}, errors.New(`provider "gar" is not supported yet`)
}
