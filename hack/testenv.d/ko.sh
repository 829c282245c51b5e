# ko builds the container image without a Docker daemon (make image).

KO_VERSION=${KO_VERSION:-v0.19.1}
DEFAULT_PEERS+=(ko)
# The image test builds its base layer from the Debian CA bundle.
APT_PACKAGES+=(ca-certificates)

peer_ko() {
  build_go_tool ko "$KO_VERSION" "github.com/google/ko@$KO_VERSION" github.com/google/ko
}
