package credential

import (
	"context"
	"errors"
)

// fromACR mints Azure Container Registry refresh tokens.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromACR(_ context.Context, _ registryRequest) (Credential, error) {
	return Credential{}, errors.New(`provider "acr" is not supported yet`)
}
