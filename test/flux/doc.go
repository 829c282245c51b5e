// Package flux proves that Flux's own source-controller consumes what
// flux-mirror writes: it runs the real controller against a real
// kube-apiserver and lets it reconcile OCIRepository, HelmRepository and
// HelmChart objects that name a Secret written by `flux-mirror secret` or
// pull what `flux-mirror sync` pushed, reading each object's conditions
// back from the API server.
package flux
