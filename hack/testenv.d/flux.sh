# The flux CLI v2.9.5: the plugin host. `go install` is refused (its go.mod
# has replace directives) and the CLI embeds release-time manifests that the
# module does not ship, so it is built from a writable copy of the module
# with one placeholder manifest. Such a binary runs plugins; it cannot
# `flux install`.

FLUX_VERSION=${FLUX_VERSION:-v2.9.5}
DEFAULT_PEERS+=(flux)

peer_flux() {
  local out="$BIN/flux-$FLUX_VERSION"
  if [ ! -x "$out" ]; then
    local dir="$CACHE/src/flux-$FLUX_VERSION"
    log "building flux $FLUX_VERSION in $dir (a few minutes cold)"
    rm -rf "$dir"
    mkdir -p "$dir"
    (
      cd "$dir"
      printf 'module testenv/flux\n\ngo 1.26\n\nreplace gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1\n' >go.mod
      printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/fluxcd/flux2/v2/cmd/flux"\n' >tools.go
      go mod download "github.com/fluxcd/flux2/v2@$FLUX_VERSION"
      cp -r "$(go mod download -json "github.com/fluxcd/flux2/v2@$FLUX_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')" flux2
      chmod -R u+w flux2
      mkdir -p flux2/cmd/flux/manifests
      echo "# placeholder: this build cannot install Flux" >flux2/cmd/flux/manifests/placeholder.yaml
      go mod edit -require "github.com/fluxcd/flux2/v2@$FLUX_VERSION" -replace github.com/fluxcd/flux2/v2=./flux2
      go mod tidy >/dev/null
      go build -trimpath -ldflags "-s -w -X main.VERSION=${FLUX_VERSION#v}" -o "$out.tmp" github.com/fluxcd/flux2/v2/cmd/flux
      mv "$out.tmp" "$out"
    )
  fi
  ln -sf "flux-$FLUX_VERSION" "$BIN/flux"
}
