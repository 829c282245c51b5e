package kube

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

// asCore returns s as core/v1's Secret, read from s's JSON as the API
// server reads it.
func asCore(t *testing.T, s *Secret) *corev1.Secret {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	out := &corev1.Secret{}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonFields lists the JSON names of a struct's fields, the inlined
// TypeMeta's included.
func jsonFields(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			names = append(names, jsonFields(f.Type)...)
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// TestTypesWriteEveryFieldOfCoreV1 holds the types that flux-mirror reads
// and writes back whole to core/v1's: a field core/v1 gains on an upgrade
// and the local type lacks would be dropped by a replace in place.
func TestTypesWriteEveryFieldOfCoreV1(t *testing.T) {
	for _, tc := range []struct{ local, core any }{
		{Secret{}, corev1.Secret{}},
		{serviceAccount{}, corev1.ServiceAccount{}},
		{localObjectReference{}, corev1.LocalObjectReference{}},
	} {
		local, core := reflect.TypeOf(tc.local), reflect.TypeOf(tc.core)
		t.Run(core.Name(), func(t *testing.T) {
			if got, want := jsonFields(local), jsonFields(core); !slices.Equal(got, want) {
				t.Errorf("JSON fields %v, core/v1 has %v", got, want)
			}
		})
	}
}

// TestTypesRoundTripCoreV1JSON decodes core/v1 objects with every field set
// through the client's own codec, encodes them back, and wants core/v1's
// JSON byte for byte.
func TestTypesRoundTripCoreV1JSON(t *testing.T) {
	yes := true
	meta := metav1.ObjectMeta{
		Name: "n", Namespace: "ns", UID: "u", ResourceVersion: "7", Generation: 2,
		Labels: map[string]string{"l": "v"}, Annotations: map[string]string{"a": "v"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "p", UID: "pu", Controller: &yes}},
		Finalizers:      []string{"f"},
	}
	codecs := serializer.NewCodecFactory(newScheme()).WithoutConversion()
	info, _ := runtime.SerializerInfoForMediaType(codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	for _, tc := range []struct {
		core  runtime.Object
		local runtime.Object
	}{
		{&corev1.Secret{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: meta, Immutable: &yes,
			Data: map[string][]byte{"d": []byte("v")}, StringData: map[string]string{"s": "v"}, Type: "t",
		}, &Secret{}},
		{&corev1.ServiceAccount{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta,
			Secrets: []corev1.ObjectReference{{
				Kind: "Secret", Namespace: "ns", Name: "tok", UID: "su", APIVersion: "v1", ResourceVersion: "3", FieldPath: "f",
			}},
			ImagePullSecrets:             []corev1.LocalObjectReference{{Name: "pull"}},
			AutomountServiceAccountToken: &yes,
		}, &serviceAccount{}},
	} {
		t.Run(tc.core.GetObjectKind().GroupVersionKind().Kind, func(t *testing.T) {
			want, err := json.Marshal(tc.core)
			if err != nil {
				t.Fatal(err)
			}
			obj, _, err := info.Serializer.Decode(want, nil, tc.local)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			if err := codecs.EncoderForVersion(info.Serializer, coreV1).Encode(obj.DeepCopyObject(), &got); err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(got.String()) != string(want) {
				t.Errorf("round trip\n got %s\nwant %s", got.String(), want)
			}
		})
	}
}
