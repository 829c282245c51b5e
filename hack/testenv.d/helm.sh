# Helm and cosign: the clients that prove what sync pushes.
#
# - helm v4 (cmd/helm): makes the chart repositories the chart tests serve
#   (helm package, helm repo index) and pulls what sync pushed to a
#   registry (helm pull / helm show chart oci://...).
# - cosign v3 (cmd/cosign): signs test images offline with a key, in the
#   tag-based (.sig) form and as a Sigstore bundle referrer, and verifies
#   the mirrored copies with cosign verify --key.

HELM_VERSION=${HELM_VERSION:-v4.3.2}
COSIGN_VERSION=${COSIGN_VERSION:-v3.1.3}
DEFAULT_PEERS+=(helm cosign)

peer_helm() {
  build_go_tool helm "$HELM_VERSION" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" helm.sh/helm/v4/cmd/helm
}

peer_cosign() {
  build_go_tool cosign "$COSIGN_VERSION" \
    "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION" github.com/sigstore/cosign/v3/cmd/cosign
}
