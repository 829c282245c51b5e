# Flux's source-controller v1.9.6: the consumer the flux tests reconcile
# OCIRepository, HelmRepository and HelmChart objects with, run as a process
# with a kubeconfig. Its go.mod replaces its own api module with ./api, a
# directory the module zip leaves out (it is a module of its own), so the
# build runs in a writable copy of the module with the api module of the
# same version copied in. The CRDs of that version land next to the binary
# (source-controller-<version>.crds/) so the tests apply exactly the schema
# the binary serves. Measured on 2 busy cores: 2.5 minutes when the flux CLI
# and cosign, which share most of its dependencies, are built first (as
# hack/testenv.sh does), 5 minutes from an empty Go build cache.
#
# v1.9.6 requires github.com/fluxcd/pkg/artifact v0.18.3, which the module
# proxy refuses ("not available"); v0.18.1, the nearest patch release it
# serves, is swapped in with a replace directive (same minor, same API).

SOURCE_CONTROLLER_VERSION=${SOURCE_CONTROLLER_VERSION:-v1.9.6}
SOURCE_CONTROLLER_ARTIFACT=${SOURCE_CONTROLLER_ARTIFACT:-v0.18.1}
DEFAULT_PEERS+=(sourcecontroller)

peer_sourcecontroller() {
  local v=$SOURCE_CONTROLLER_VERSION
  local out="$BIN/source-controller-$v"
  if [ ! -x "$out" ] || [ ! -d "$out.crds" ]; then
    local dir="$CACHE/src/source-controller-$v"
    log "building source-controller $v in $dir (a few minutes cold)"
    rm -rf "$dir" "$out.crds"
    mkdir -p "$dir"
    (
      cd "$dir"
      local mod api
      mod=$(go mod download -json "github.com/fluxcd/source-controller@$v" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
      api=$(go mod download -json "github.com/fluxcd/source-controller/api@$v" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
      cp -r "$mod" src
      chmod -R u+w src
      cp -r "$api" src/api
      chmod -R u+w src/api
      cd src
      go mod edit -replace "github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@$SOURCE_CONTROLLER_ARTIFACT"
      go build -mod=mod -trimpath -ldflags "-s -w" -o "$out.tmp" .
      mkdir -p "$out.crds.tmp"
      cp config/crd/bases/*.yaml "$out.crds.tmp/"
      mv "$out.crds.tmp" "$out.crds"
      mv "$out.tmp" "$out"
    )
  fi
  ln -sf "source-controller-$v" "$BIN/source-controller"
  ln -sfn "source-controller-$v.crds" "$BIN/source-controller.crds"
}
