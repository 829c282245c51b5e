package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// rbacExample is the documented RBAC, relative to this file; the tests
// grant exactly what it says, so it is read rather than copied.
const rbacExample = "../../examples/cluster/rbac.yaml"

// clusterRoleExample is the documented RBAC for many namespaces.
const clusterRoleExample = "../../examples/cluster/many-namespaces/rbac.yaml"

// SecretRole returns the Role of examples/cluster/rbac.yaml in namespace
// ns. With names, the rules that name Secrets (resourceNames) name these
// instead of the example's.
func SecretRole(ns string, names ...string) (*rbacv1.Role, error) {
	role := &rbacv1.Role{}
	if err := readExample(rbacExample, "Role", role); err != nil {
		return nil, err
	}
	role.Namespace = ns
	for i := range role.Rules {
		if len(names) > 0 && len(role.Rules[i].ResourceNames) > 0 {
			role.Rules[i].ResourceNames = slices.Clone(names)
		}
	}
	return role, nil
}

// SecretClusterRole returns the ClusterRole of
// examples/cluster/many-namespaces/rbac.yaml.
func SecretClusterRole() (*rbacv1.ClusterRole, error) {
	role := &rbacv1.ClusterRole{}
	return role, readExample(clusterRoleExample, "ClusterRole", role)
}

// ReadExample decodes the first object of kind in the example at path,
// relative to the repository's root (examples/...), into obj.
func ReadExample(path, kind string, obj any) error {
	return readExample(filepath.Join("..", "..", path), kind, obj)
}

// readExample decodes the first object of kind in the example at path
// (relative to this file) into obj.
func readExample(path, kind string, obj any) error {
	_, file, _, _ := runtime.Caller(0)
	path = filepath.Join(filepath.Dir(file), path)
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var meta metav1.TypeMeta
		var doc json.RawMessage
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return fmt.Errorf("testenv: %s holds no %s", path, kind)
		} else if err != nil {
			return fmt.Errorf("testenv: %s: %w", path, err)
		}
		if err := json.Unmarshal(doc, &meta); err != nil {
			return fmt.Errorf("testenv: %s: %w", path, err)
		}
		if meta.Kind == kind {
			return json.Unmarshal(doc, obj)
		}
	}
}

// GrantSecretRole creates in namespace ns the documented Role (see
// SecretRole, for names) and a RoleBinding of it to subject, and waits
// until the API server enforces it.
func (e *Env) GrantSecretRole(ctx context.Context, ns string, subject rbacv1.Subject, names ...string) error {
	role, err := SecretRole(ns, names...)
	if err != nil {
		return err
	}
	return e.GrantRole(ctx, role, subject)
}
