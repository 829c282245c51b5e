package kube

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The annotations a written Secret carries, so that monitoring can alert on
// a Secret that stopped rotating without decoding its credentials.
const (
	// AnnotationExpiresAt is when the earliest of the Secret's credentials
	// expires (RFC 3339, UTC). Absent when no credential's expiry is known.
	AnnotationExpiresAt = "mirror.plugin.fluxcd.io/expires-at"
	// AnnotationExpiresHost is the host whose credential expires first.
	// Absent with AnnotationExpiresAt.
	AnnotationExpiresHost = "mirror.plugin.fluxcd.io/expires-host"
	// AnnotationWrittenAt is when flux-mirror last wrote the Secret (RFC
	// 3339, UTC).
	AnnotationWrittenAt = "mirror.plugin.fluxcd.io/written-at"
)

// Stamp is what a written Secret says about its credentials.
type Stamp struct {
	// WrittenAt is when the Secret is written.
	WrittenAt time.Time
	// ExpiresAt is when the earliest credential expires; zero when no
	// credential's expiry is known.
	ExpiresAt time.Time
	// ExpiresHost is the host of that credential.
	ExpiresHost string
}

// apply sets the stamp's annotations on meta and removes an expiry a
// previous write left that no longer holds; other annotations stay.
func (s Stamp) apply(meta *metav1.ObjectMeta) {
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[AnnotationWrittenAt] = s.WrittenAt.UTC().Format(time.RFC3339)
	if s.ExpiresAt.IsZero() {
		delete(meta.Annotations, AnnotationExpiresAt)
		delete(meta.Annotations, AnnotationExpiresHost)
		return
	}
	meta.Annotations[AnnotationExpiresAt] = s.ExpiresAt.UTC().Format(time.RFC3339)
	meta.Annotations[AnnotationExpiresHost] = s.ExpiresHost
}

// SizeError says a Secret's data is over MaxSecretDataSize.
type SizeError struct {
	// Ref is the Secret, namespace/name.
	Ref string
	// Size is the total size of its data values in bytes.
	Size int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("secret %s would hold %d bytes of data, over Kubernetes' limit of %d bytes (1 MiB) per Secret",
		e.Ref, e.Size, MaxSecretDataSize)
}

// CheckSize returns a *SizeError when s's data values add up to more than
// MaxSecretDataSize, as the API server counts them.
func CheckSize(s *Secret) error {
	size := 0
	for _, v := range s.Data {
		size += len(v)
	}
	if size > MaxSecretDataSize {
		ref := s.Name
		if s.Namespace != "" {
			ref = s.Namespace + "/" + s.Name
		}
		return &SizeError{Ref: ref, Size: size}
	}
	return nil
}
