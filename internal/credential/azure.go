package credential

import (
	"context"
	"errors"
)

// fromAzure mints Microsoft Entra access tokens through the default Azure credential chain.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromAzure(_ context.Context, _ tokenRequest) (token, error) {
	return token{}, errors.New(`credential.provider "azure" is not supported yet`)
}
