package credential

import (
	"context"
	"errors"
)

// fromValue yields credential.value as written.
func fromValue(_ context.Context, req tokenRequest) (token, error) {
	if req.cred.Value == nil || *req.cred.Value == "" {
		return token{}, errors.New("credential.value is empty; if it names a variable, set that variable")
	}
	return token{value: *req.cred.Value}, nil
}
