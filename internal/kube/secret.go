package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// Operation says what UpsertSecret did.
type Operation string

const (
	// Created means the Secret did not exist and was created.
	Created Operation = "created"
	// Replaced means an existing Secret's Docker config was replaced in place.
	Replaced Operation = "replaced"
)

// Client talks to the core/v1 API with one rate limiter (--kube-api-qps,
// --kube-api-burst) shared by everything it does, however many namespaces
// it writes to.
type Client struct {
	rc rest.Interface
	// ManyNamespaces says the caller writes to several namespaces, so a
	// refusal points at the ClusterRole example rather than the Role.
	ManyNamespaces bool
}

// NewClient returns a client for core/v1. It knows only the few core/v1
// types it reads and writes (types.go), so no other type is registered or
// initialised.
func NewClient(cfg *rest.Config) (*Client, error) {
	c := rest.CopyConfig(cfg)
	gv := coreV1
	c.GroupVersion = &gv
	c.APIPath = "/api"
	c.NegotiatedSerializer = serializer.NewCodecFactory(newScheme()).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = "flux-mirror"
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Client{rc: rc}, nil
}

// Secrets returns a client for the Secrets and ServiceAccounts of
// namespace, sharing c's connection and rate limiter.
func (c *Client) Secrets(namespace string) *SecretClient {
	return &SecretClient{rc: c.rc, namespace: namespace, manyNamespaces: c.ManyNamespaces}
}

// SecretClient reads and writes Secrets in one namespace with exactly the
// verbs of the documented Role: get, create and update.
type SecretClient struct {
	rc             rest.Interface
	namespace      string
	manyNamespaces bool
}

// NewSecretClient returns a client for the core/v1 Secrets of namespace.
func NewSecretClient(cfg *rest.Config, namespace string) (*SecretClient, error) {
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return c.Secrets(namespace), nil
}

// Namespace is the namespace the client writes to.
func (c *SecretClient) Namespace() string { return c.namespace }

func (c *SecretClient) get(ctx context.Context, name string) (*Secret, error) {
	s := &Secret{}
	err := c.rc.Get().Namespace(c.namespace).Resource("secrets").Name(name).Do(ctx).Into(s)
	return s, err
}

func (c *SecretClient) create(ctx context.Context, s *Secret) error {
	return c.rc.Post().Namespace(c.namespace).Resource("secrets").Body(s).Do(ctx).Error()
}

func (c *SecretClient) update(ctx context.Context, s *Secret) error {
	return c.rc.Put().Namespace(c.namespace).Resource("secrets").Name(s.Name).Body(s).Do(ctx).Error()
}

// NewDockerConfigSecret returns a kubernetes.io/dockerconfigjson Secret
// holding dockerConfigJSON, stamped with stamp's annotations. An empty
// namespace is left out, as kubectl does.
func NewDockerConfigSecret(namespace, name string, dockerConfigJSON []byte, stamp Stamp) *Secret {
	s := &Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Type:       SecretTypeDockerConfigJSON,
		Data:       map[string][]byte{DockerConfigJSONKey: dockerConfigJSON},
	}
	stamp.apply(&s.ObjectMeta)
	return s
}

// UpsertSecret writes dockerConfigJSON into the Secret name, stamped with
// stamp's annotations. With createOnly it only creates (one request) and
// fails if the Secret exists. Otherwise it reads the Secret and creates it,
// or replaces its Docker config in place, keeping its labels, other
// annotations and any other data keys. An update or create that loses a
// race with another writer is retried on the fresh object until ctx ends
// (see retryConflicts). A Secret of another type, an immutable one, or one
// whose data would pass MaxSecretDataSize is left untouched and reported.
func (c *SecretClient) UpsertSecret(ctx context.Context, name string, dockerConfigJSON []byte, stamp Stamp, createOnly bool) (Operation, error) {
	ref := c.namespace + "/" + name
	fresh := NewDockerConfigSecret(c.namespace, name, dockerConfigJSON, stamp)
	if err := CheckSize(fresh); err != nil {
		return "", err
	}
	if createOnly {
		err := c.create(ctx, fresh)
		if apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("secret %s already exists and --create was given: drop --create to replace it in place", ref)
		}
		if err != nil {
			return "", c.explain("create", name, err)
		}
		return Created, nil
	}

	var op Operation
	var verb string // of the last request, for the error message
	err := retryConflicts(ctx, "secret", ref, func() error {
		verb = "get"
		existing, err := c.get(ctx, name)
		switch {
		case apierrors.IsNotFound(err):
			op, verb = Created, "create"
			return c.create(ctx, fresh)
		case err != nil:
			return err
		}
		if err := replaceable(existing, ref); err != nil {
			return err
		}
		if existing.Data == nil {
			existing.Data = map[string][]byte{}
		}
		existing.Data[DockerConfigJSONKey] = dockerConfigJSON
		stamp.apply(&existing.ObjectMeta)
		if err := CheckSize(existing); err != nil {
			return err
		}
		op, verb = Replaced, "update"
		return c.update(ctx, existing)
	})
	if err != nil {
		var user *userError
		var size *SizeError
		var race *RaceError
		if errors.As(err, &user) || errors.As(err, &size) || errors.As(err, &race) {
			return "", err
		}
		return "", c.explain(verb, name, err)
	}
	return op, nil
}

// userError is a refusal that needs the user's decision, not a retry.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func replaceable(s *Secret, ref string) error {
	if s.Type != SecretTypeDockerConfigJSON {
		return &userError{fmt.Sprintf("secret %s has type %q, not %q, and a Secret's type cannot change: delete it or choose another name",
			ref, s.Type, SecretTypeDockerConfigJSON)}
	}
	if s.Immutable != nil && *s.Immutable {
		return &userError{fmt.Sprintf("secret %s is immutable and cannot be replaced in place: delete it first, or choose another name", ref)}
	}
	return nil
}

// explain turns API errors into messages that say what to do. A refusal
// names the rule of the documented Role (examples/cluster/rbac.yaml), or
// ClusterRole when writing to many namespaces, to widen: get and update are
// granted per Secret name, create per namespace.
func (c *SecretClient) explain(verb, name string, err error) error {
	ref := c.namespace + "/" + name
	role := "its Role (flux-mirror-secret in " + RoleExample + ")"
	if c.manyNamespaces {
		role = "its ClusterRole (flux-mirror-secrets in " + ClusterRoleExample + ")"
	}
	switch {
	case apierrors.IsForbidden(err) && verb == "create":
		return fmt.Errorf("%s secret %s: permission denied: %w (the identity needs create on secrets in namespace %q: "+
			"the create rule of %s, or bind that role to it if it has none)", verb, ref, err, c.namespace, role)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s secret %s: permission denied: %w (the identity needs get and update on the Secret %q in namespace %q: "+
			"add %q to resourceNames of the get/update rule of %s, or bind that role to it if it has none)",
			verb, ref, err, name, c.namespace, name, role)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s secret %s: not authenticated: %w (check the kubeconfig credentials or the pod's ServiceAccount token)", verb, ref, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s secret %s: %w (does namespace %q exist?)", verb, ref, err, c.namespace)
	}
	return fmt.Errorf("%s secret %s: %w", verb, ref, err)
}

// The RBAC examples that refusals point at, relative to the repository.
const (
	RoleExample        = "examples/cluster/rbac.yaml"
	ClusterRoleExample = "examples/cluster/many-namespaces/rbac.yaml"
)
