package credential

import (
	"context"
	"fmt"
)

// fromActions mints GitHub and Forgejo Actions OIDC ID tokens.
// Not implemented yet: the cloud and identity providers are a separate issue.
func fromActions(_ context.Context, req tokenRequest) (token, error) {
	return token{}, fmt.Errorf("credential.provider %q is not supported yet", req.cred.Provider)
}
