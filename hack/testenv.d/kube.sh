# kube-apiserver v1.37.2 and etcd v3.7.3: the Secret writer's peer.
# kubectl from the same build is only for hack/bench.sh.

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
DEFAULT_PEERS+=(etcd kube-apiserver)

# build_kube NAME builds cmd/NAME of k8s.io/kubernetes, with every staging
# module replaced by its published v0.x twin.
build_kube() {
  local name=$1
  local out="$BIN/$name-$KUBE_VERSION"
  if [ ! -x "$out" ]; then
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
      printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >tools.go
      go mod tidy >/dev/null
      local pkg=k8s.io/component-base/version
      go build -trimpath -o "$out.tmp" -ldflags "-s -w \
        -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 \
        -X $pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X $pkg.gitTreeState=clean" \
        "k8s.io/kubernetes/cmd/$name"
      mv "$out.tmp" "$out"
    )
  fi
  ln -sf "$name-$KUBE_VERSION" "$BIN/$name"
}

peer_kube-apiserver() { build_kube kube-apiserver; }
peer_kubectl() { build_kube kubectl; }

peer_etcd() {
  local out="$BIN/etcd-$ETCD_VERSION"
  if [ ! -x "$out" ]; then
    local dir="$CACHE/src/etcd-$ETCD_VERSION"
    log "building etcd $ETCD_VERSION in $dir (about a minute cold)"
    local mods=()
    for m in server/v3 api/v3 client/pkg/v3 client/v3 pkg/v3; do mods+=("go.etcd.io/etcd/$m@$ETCD_VERSION"); done
    go_tool_module "$dir" "${mods[@]}"
    (
      cd "$dir"
      printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
      go mod tidy >/dev/null
      go build -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3
      mv "$out.tmp" "$out"
    )
  fi
  ln -sf "etcd-$ETCD_VERSION" "$BIN/etcd"
}
