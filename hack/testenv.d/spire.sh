# SPIRE v1.13.3 server and agent: the jwt-svid source's peer.
# SPIRE's sqlite datastore is a cgo package, so the build needs a C compiler
# and cgo switched on explicitly (Go turns cgo off by itself when it finds no
# compiler, and the resulting server only fails once it opens its datastore).

SPIRE_VERSION=${SPIRE_VERSION:-v1.13.3}
DEFAULT_PEERS+=(spire)
APT_PACKAGES+=(gcc libc6-dev)

peer_spire() {
  local server="$BIN/spire-server-$SPIRE_VERSION"
  local agent="$BIN/spire-agent-$SPIRE_VERSION"
  if [ ! -x "$server" ] || [ ! -x "$agent" ]; then
    # The compiler must be there before the build, not after it.
    apt_install
    local dir="$CACHE/src/spire-$SPIRE_VERSION"
    local mod=github.com/spiffe/spire
    log "building spire-server and spire-agent $SPIRE_VERSION in $dir (cgo, about 12 minutes cold)"
    mkdir -p "$dir"
    (
      cd "$dir"
      printf 'module testenv/spire\n\ngo 1.26\n' >go.mod
      go get -tool "$mod/cmd/spire-server@$SPIRE_VERSION" "$mod/cmd/spire-agent@$SPIRE_VERSION"
      CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o "$server.tmp" "$mod/cmd/spire-server"
      CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o "$agent.tmp" "$mod/cmd/spire-agent"
      mv "$server.tmp" "$server"
      mv "$agent.tmp" "$agent"
    )
  fi
  ln -sf "spire-server-$SPIRE_VERSION" "$BIN/spire-server"
  ln -sf "spire-agent-$SPIRE_VERSION" "$BIN/spire-agent"
}
