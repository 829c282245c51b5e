package registry

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
)

// keychain answers go-containerregistry's credential lookups: a host listed
// in hosts with a credential or provider is answered from it, every other
// host from the Docker config and its credential helpers, as crane does.
type keychain struct {
	r        *Registries
	fallback authn.Keychain
}

var _ authn.ContextKeychain = keychain{}

// Resolve implements authn.Keychain.
func (k keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), res)
}

// ResolveContext implements authn.ContextKeychain.
func (k keychain) ResolveContext(ctx context.Context, res authn.Resource) (authn.Authenticator, error) {
	h := k.r.lookup(res.RegistryStr())
	switch {
	case h == nil || h.minter == nil:
		// Not listed, or listed for TLS or chunking only: the entry says
		// nothing about credentials, so the Docker config may.
		return authn.Resolve(ctx, k.fallback, res)
	case h.stamped:
		// The transport puts the bearer token on every request to the
		// host, the /v2/ ping included, so the registry answers the ping
		// with 200 and go-containerregistry starts no challenge exchange;
		// an anonymous authenticator keeps it from adding a header of its
		// own.
		return authn.Anonymous, nil
	}
	return &passwordAuth{m: h.minter}, nil
}

// passwordAuth gives go-containerregistry the host's username and password
// for the registry's challenge: Basic on every request, or the token
// exchange of a Bearer challenge, which go-containerregistry repeats when
// the registry token it holds is refused. Each call asks the minter, so a
// password about to expire is minted again before it is sent.
type passwordAuth struct {
	m *minter
}

var _ authn.ContextAuthenticator = (*passwordAuth)(nil)

// Authorization implements authn.Authenticator.
func (a *passwordAuth) Authorization() (*authn.AuthConfig, error) {
	return a.AuthorizationContext(context.Background())
}

// AuthorizationContext implements authn.ContextAuthenticator.
func (a *passwordAuth) AuthorizationContext(ctx context.Context) (*authn.AuthConfig, error) {
	c, err := a.m.get(ctx)
	if err != nil {
		return nil, err
	}
	return &authn.AuthConfig{Username: c.Username, Password: c.Password}, nil
}
