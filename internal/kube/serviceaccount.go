package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ErrNoServiceAccount says a ServiceAccount to point at the Secret does
// not exist; flux-mirror never creates one.
var ErrNoServiceAccount = errors.New("no such ServiceAccount")

// AddImagePullSecret adds secret to the imagePullSecrets of the
// ServiceAccount sa, keeping every other entry and field, unless it is
// listed already. It reports whether it changed the ServiceAccount. It
// reads and replaces the ServiceAccount (get and update, the verbs of the
// ClusterRole example) and retries on the fresh object when another writer
// changed it in between, until ctx ends, so no concurrent change is lost.
// A missing ServiceAccount is an error wrapping ErrNoServiceAccount.
func (c *SecretClient) AddImagePullSecret(ctx context.Context, sa, secret string) (bool, error) {
	ref := c.namespace + "/" + sa
	changed := false
	verb := "get"
	err := retryConflicts(ctx, "serviceaccount", ref, func() error {
		verb = "get"
		cur := &serviceAccount{}
		if err := c.rc.Get().Namespace(c.namespace).Resource("serviceaccounts").Name(sa).Do(ctx).Into(cur); err != nil {
			return err
		}
		for _, r := range cur.ImagePullSecrets {
			if r.Name == secret {
				changed = false
				return nil
			}
		}
		cur.ImagePullSecrets = append(cur.ImagePullSecrets, localObjectReference{Name: secret})
		verb, changed = "update", true
		return c.rc.Put().Namespace(c.namespace).Resource("serviceaccounts").Name(sa).Body(cur).Do(ctx).Error()
	})
	var race *RaceError
	switch {
	case err == nil:
		return changed, nil
	case errors.As(err, &race):
		return false, err
	case apierrors.IsNotFound(err) && verb == "get":
		return false, fmt.Errorf("serviceaccount %s: %w: flux-mirror does not create ServiceAccounts; create it, or drop it from --service-account", ref, ErrNoServiceAccount)
	case apierrors.IsForbidden(err):
		return false, fmt.Errorf("%s serviceaccount %s: permission denied: %w (the identity needs get and update on the ServiceAccount %q in namespace %q: "+
			"add %q to resourceNames of a get/update rule on serviceaccounts in its Role or ClusterRole, as the ClusterRole flux-mirror-secrets in %s has)",
			verb, ref, err, sa, c.namespace, sa, ClusterRoleExample)
	}
	return false, fmt.Errorf("%s serviceaccount %s: %w", verb, ref, err)
}
