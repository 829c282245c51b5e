package kube

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The core/v1 objects flux-mirror reads and writes are declared here, with
// the JSON of k8s.io/api/core/v1, rather than imported from it: that
// package declares the whole core API (Pods, Nodes, Volumes...), 1.7 MB
// of code, the largest package of the binary, whose init ran on every
// start, --help included, for three small types. The wire JSON, the
// requests and the rest client are the same; types_test.go holds the types
// to core/v1's, and the other tests run them against a real API server.

// coreV1 is the core API group's version; its group name is empty.
var coreV1 = schema.GroupVersion{Version: "v1"}

// MaxSecretDataSize is Kubernetes' limit on the total size of a Secret's
// data values (core/v1 MaxSecretSize, 1 MiB): the API server refuses a
// larger Secret as "Too long".
const MaxSecretDataSize = 1 << 20

// SecretTypeDockerConfigJSON is the type of a Secret holding a Docker
// config.json (core/v1 SecretTypeDockerConfigJson).
const SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"

// DockerConfigJSONKey is the data key of that Docker config.json (core/v1
// DockerConfigJsonKey).
const DockerConfigJSONKey = ".dockerconfigjson"

// Secret is a core/v1 Secret, with all of its fields, so that replacing
// one in place keeps whatever else it holds.
type Secret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Immutable  *bool             `json:"immutable,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
	Type       string            `json:"type,omitempty"`
}

// DeepCopyObject implements runtime.Object.
func (s *Secret) DeepCopyObject() runtime.Object {
	out := &Secret{TypeMeta: s.TypeMeta, Type: s.Type}
	s.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	if s.Immutable != nil {
		v := *s.Immutable
		out.Immutable = &v
	}
	if s.Data != nil {
		out.Data = make(map[string][]byte, len(s.Data))
		for k, v := range s.Data {
			out.Data[k] = append([]byte(nil), v...)
		}
	}
	if s.StringData != nil {
		out.StringData = make(map[string]string, len(s.StringData))
		for k, v := range s.StringData {
			out.StringData[k] = v
		}
	}
	return out
}

// serviceAccount is a core/v1 ServiceAccount. It is read and written back
// whole, so every field is kept: the token Secrets it lists, which
// flux-mirror never reads, travel as the API server sent them.
type serviceAccount struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Secrets                      []json.RawMessage      `json:"secrets,omitempty"`
	ImagePullSecrets             []localObjectReference `json:"imagePullSecrets,omitempty"`
	AutomountServiceAccountToken *bool                  `json:"automountServiceAccountToken,omitempty"`
}

// localObjectReference names an object in the same namespace.
type localObjectReference struct {
	Name string `json:"name,omitempty"`
}

// DeepCopyObject implements runtime.Object.
func (sa *serviceAccount) DeepCopyObject() runtime.Object {
	out := &serviceAccount{TypeMeta: sa.TypeMeta}
	sa.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	for _, s := range sa.Secrets {
		out.Secrets = append(out.Secrets, append(json.RawMessage(nil), s...))
	}
	out.ImagePullSecrets = append([]localObjectReference(nil), sa.ImagePullSecrets...)
	if sa.AutomountServiceAccountToken != nil {
		v := *sa.AutomountServiceAccountToken
		out.AutomountServiceAccountToken = &v
	}
	return out
}

// namespaceList is a core/v1 NamespaceList, with only what ListNamespaces
// reads of each namespace: it is never written back.
type namespaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []namespaceObject `json:"items"`
}

// namespaceObject is the part of a core/v1 Namespace that says whether it
// is being deleted.
type namespaceObject struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status struct {
		Phase string `json:"phase,omitempty"`
	} `json:"status,omitempty"`
}

// namespaceTerminating is core/v1's NamespaceTerminating phase.
const namespaceTerminating = "Terminating"

// DeepCopyObject implements runtime.Object.
func (l *namespaceList) DeepCopyObject() runtime.Object {
	out := &namespaceList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]namespaceObject, len(l.Items))
		for i := range l.Items {
			l.Items[i].ObjectMeta.DeepCopyInto(&out.Items[i].ObjectMeta)
			out.Items[i].Status = l.Items[i].Status
		}
	}
	return out
}

// newScheme registers the types above under their core/v1 kinds, with the
// API's own meta types (Status for errors among them), as core/v1's
// AddToScheme does for its own.
func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	scheme.AddKnownTypeWithName(coreV1.WithKind("Secret"), &Secret{})
	scheme.AddKnownTypeWithName(coreV1.WithKind("ServiceAccount"), &serviceAccount{})
	scheme.AddKnownTypeWithName(coreV1.WithKind("NamespaceList"), &namespaceList{})
	metav1.AddToGroupVersion(scheme, coreV1)
	return scheme
}
