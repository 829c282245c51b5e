#!/usr/bin/env bash
# Builds the real peers the integration tests talk to (kube-apiserver, etcd)
# from the Go module proxy into a cache outside the repository, keyed by
# version, and prints the directory that holds the binaries.
#
#   hack/testenv.sh            build what the tests need, print the bin dir
#   hack/testenv.sh kubectl    also build kubectl (for hack/bench.sh)
#
# Each peer is built in a throwaway module of its own under the cache, never in
# the product's go.mod. A warm cache costs a few stat calls.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
CACHE=${FLUX_MIRROR_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-mirror-testenv}
BIN="$CACHE/bin"
mkdir -p "$BIN"

log() { printf '%s\n' "testenv: $*" >&2; }

# build_kube NAME builds cmd/NAME of k8s.io/kubernetes, with every staging
# module replaced by its published v0.x twin.
build_kube() {
  local name=$1
  local out="$BIN/$name-$KUBE_VERSION"
  [ -x "$out" ] && return 0
  local staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime
    client-go cloud-provider cluster-bootstrap code-generator component-base
    component-helpers controller-manager cri-api cri-client cri-streaming
    csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl
    kubelet metrics mount-utils pod-security-admission sample-apiserver streaming)
  local minor="v0.${KUBE_VERSION#v1.}"
  local dir="$CACHE/src/kube-$KUBE_VERSION"
  mkdir -p "$dir"
  log "building $name $KUBE_VERSION in $dir (kube-apiserver: about 10 minutes cold)"
  (
    cd "$dir"
    {
      echo "module testenv/kube"
      echo
      echo "go 1.26"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      echo "replace ("
      for m in "${staging[@]}"; do echo "	k8s.io/$m => k8s.io/$m $minor"; done
      echo ")"
    } >go.mod
    cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy >/dev/null
    local pkg=k8s.io/component-base/version
    go build -trimpath -o "$out.tmp" -ldflags "-s -w \
      -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 \
      -X $pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X $pkg.gitTreeState=clean" \
      "k8s.io/kubernetes/cmd/$name"
    mv "$out.tmp" "$out"
  )
}

build_etcd() {
  local out="$BIN/etcd-$ETCD_VERSION"
  [ -x "$out" ] && return 0
  local dir="$CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  log "building etcd $ETCD_VERSION in $dir (about a minute cold)"
  (
    cd "$dir"
    printf 'module testenv/etcd\n\ngo 1.26\n' >go.mod
    cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
GO
    for m in server/v3 api/v3 client/pkg/v3 client/v3 pkg/v3; do
      go get "go.etcd.io/etcd/$m@$ETCD_VERSION" >/dev/null 2>&1
    done
    go mod tidy >/dev/null
    go build -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3
    mv "$out.tmp" "$out"
  )
}

build_etcd
build_kube kube-apiserver
ln -sf "kube-apiserver-$KUBE_VERSION" "$BIN/kube-apiserver"
ln -sf "etcd-$ETCD_VERSION" "$BIN/etcd"
for extra in "$@"; do
  case $extra in
  kubectl)
    build_kube kubectl
    ln -sf "kubectl-$KUBE_VERSION" "$BIN/kubectl"
    ;;
  *) log "unknown peer $extra"; exit 2 ;;
  esac
done
echo "$BIN"
