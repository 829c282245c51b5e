package credential

import (
	"context"
	"errors"
)

// fromAWS mints the signed sts:GetCallerIdentity envelope.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromAWS(_ context.Context, _ tokenRequest) (token, error) {
	return token{}, errors.New(`credential.provider "aws" is not supported yet`)
}
