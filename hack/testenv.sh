#!/usr/bin/env bash
# Builds or installs the real peers the integration tests talk to, into a
# cache outside the repository keyed by version, and prints the directory
# that holds the binaries (the tests read it from $FLUX_MIRROR_TESTENV_BIN).
#
#   hack/testenv.sh            every peer the test suite needs
#   hack/testenv.sh kubectl    named peers only (kubectl is for hack/bench.sh)
#
# Each peer is a file in hack/testenv.d/ that defines peer_<name> and adds
# <name> to DEFAULT_PEERS when the tests need it. Go peers are built in
# throwaway modules under the cache, never in the product's go.mod; Debian
# packages a peer lists in APT_PACKAGES are installed when missing. A warm
# cache costs a few stat calls.
set -euo pipefail

CACHE=${FLUX_MIRROR_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-mirror-testenv}
BIN="$CACHE/bin"
mkdir -p "$BIN"
DEFAULT_PEERS=()
APT_PACKAGES=()

log() { printf '%s\n' "testenv: $*" >&2; }

# go_tool_module DIR MODULE... writes a throwaway module in DIR requiring the
# given module@version pairs.
go_tool_module() {
  local dir=$1
  shift
  mkdir -p "$dir"
  printf 'module testenv/%s\n\ngo 1.26\n' "$(basename "$dir")" >"$dir/go.mod"
  (cd "$dir" && for m in "$@"; do go get "$m" >/dev/null 2>&1 || go get "$m"; done)
}

# apt_install installs the Debian packages peers asked for that are missing.
apt_install() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    log "need root to install: ${missing[*]}"
    exit 1
  fi
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

here=$(cd "$(dirname "$0")" && pwd)
for f in "$here"/testenv.d/*.sh; do
  # shellcheck source=/dev/null
  . "$f"
done

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${DEFAULT_PEERS[@]}")
# Debian packages first: some builds need them (SPIRE needs a C compiler).
apt_install
for t in "${targets[@]}"; do
  if ! declare -F "peer_$t" >/dev/null; then
    log "unknown peer $t"
    exit 2
  fi
  "peer_$t"
done
echo "$BIN"
