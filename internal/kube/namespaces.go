package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Namespace is a namespace a selection found.
type Namespace struct {
	Name string
	// Terminating is true once the namespace is being deleted: the API
	// server refuses new objects in it, and whatever is written there is
	// about to go.
	Terminating bool
}

// ListNamespaces lists the namespaces whose labels match selector (a label
// selector; "" matches all) in one request: the API server does the
// selection, so only the matching namespaces travel. It needs list on
// namespaces, cluster-wide.
func (c *Client) ListNamespaces(ctx context.Context, selector string) ([]Namespace, error) {
	list := &namespaceList{}
	req := c.rc.Get().Resource("namespaces")
	if selector != "" {
		req = req.Param("labelSelector", selector)
	}
	if err := req.Do(ctx).Into(list); err != nil {
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("list namespaces: permission denied: %w (the identity needs list on namespaces for "+
				"--namespace-selector and --all-namespaces: the namespaces rule of its ClusterRole (flux-mirror-secrets in %s), "+
				"or name the namespaces with --namespaces instead)", err, ClusterRoleExample)
		}
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	out := make([]Namespace, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, Namespace{
			Name:        ns.Name,
			Terminating: ns.DeletionTimestamp != nil || ns.Status.Phase == namespaceTerminating,
		})
	}
	return out, nil
}
