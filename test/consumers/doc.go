// Package consumers proves that the Secrets flux-mirror writes are read the
// way their consumers read them, with the consumers' own code: kubelet's
// pull-secret keyring (k8s.io/kubernetes/pkg/credentialprovider) and
// go-containerregistry's pkg/authn/kubernetes, which Flux's source-controller
// uses for OCIRepository and HelmRepository.
//
// It is a module of its own so that k8s.io/kubernetes never enters the
// product's go.mod.
package consumers
