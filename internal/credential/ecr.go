package credential

import (
	"context"
	"errors"
)

// fromECR mints Amazon ECR username/password.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromECR(_ context.Context, _ registryRequest) (Credential, error) {
	return Credential{}, errors.New(`provider "ecr" is not supported yet`)
}
