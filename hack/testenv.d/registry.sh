# Registries, registry clients and a credential helper: login's peers.
#
# - registry: distribution v3 (cmd/registry), for token auth over a JWKS
#   (the registrytoken path). Debian's docker-registry (distribution 2.8)
#   serves the htpasswd cases.
# - crane and oras: the clients that read the written Docker config.
# - Debian: docker-registry, htpasswd (apache2-utils), pass and gnupg behind
#   docker-credential-pass (golang-docker-credential-helpers), and skopeo.

DISTRIBUTION_VERSION=${DISTRIBUTION_VERSION:-v3.1.2}
CRANE_VERSION=${CRANE_VERSION:-v0.22.1}
ORAS_VERSION=${ORAS_VERSION:-v1.3.6}
DEFAULT_PEERS+=(registry crane oras)
APT_PACKAGES+=(docker-registry apache2-utils pass gnupg golang-docker-credential-helpers skopeo)

# build_go_tool NAME VERSION MODULE@VERSION PACKAGE builds PACKAGE from a
# throwaway module under the cache into $BIN/NAME-VERSION and links NAME to it.
build_go_tool() {
  local name=$1 version=$2 module=$3 pkg=$4
  local out="$BIN/$name-$version"
  if [ ! -x "$out" ]; then
    local dir="$CACHE/src/$name-$version"
    log "building $name $version in $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    (
      cd "$dir"
      printf 'module testenv/%s\n\ngo 1.26\n' "$name" >go.mod
      go get -tool "$module" >/dev/null 2>&1 || go get -tool "$module"
      CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg"
      mv "$out.tmp" "$out"
    )
  fi
  ln -sf "$name-$version" "$BIN/$name"
}

peer_registry() {
  build_go_tool registry "$DISTRIBUTION_VERSION" \
    "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION" \
    github.com/distribution/distribution/v3/cmd/registry
}

peer_crane() {
  build_go_tool crane "$CRANE_VERSION" \
    "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" \
    github.com/google/go-containerregistry/cmd/crane
}

peer_oras() {
  build_go_tool oras "$ORAS_VERSION" "oras.land/oras/cmd/oras@$ORAS_VERSION" oras.land/oras/cmd/oras
}
