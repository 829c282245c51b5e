#!/usr/bin/env bash
# Prints flux-mirror's performance numbers next to the tools it replaces.
# Run through `make bench` (both) or `make bench-sync`.
#
#   hack/bench.sh [secret] [sync]
#
# secret: the Secret replace against the kubectl pipeline, on the same real
#   kube-apiserver (RUNS runs, default 20).
# sync: `flux-mirror sync` against crane copy, skopeo sync and regsync once
#   on one workload between two real registries: cold runs (COLD_RUNS,
#   default 3), warm re-runs (SYNC_RUNS, default 10) and a 1 GiB layer
#   (BIG=false skips it). A missing peer fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench: GNU time is missing: apt-get install time" >&2; exit 1; }
what=("$@")
[ ${#what[@]} -eq 0 ] && what=(secret sync)
for w in "${what[@]}"; do
  case $w in
  secret)
    bin=$(hack/testenv.sh kubectl)
    export FLUX_MIRROR_TESTENV_BIN="$bin"
    go run ./hack/bench -n "${RUNS:-20}" -bin bin/flux-mirror -kubectl "$bin/kubectl"
    # Many hosts: resolving them concurrently costs about the slowest one.
    go test -run '^$' -bench MixedConfig -benchtime 5x ./internal/credential/ | grep -E '^Benchmark'
    ;;
  sync)
    # skopeo comes from Debian (registry.sh lists it); regsync is built only
    # for this.
    FLUX_MIRROR_TESTENV_BIN="$(hack/testenv.sh registry crane regsync)"
    export FLUX_MIRROR_TESTENV_BIN
    go test -run '^$' -bench '^BenchmarkSync$' -benchtime 1x -timeout 60m ./hack/bench/syncbench \
      -args -fm "$PWD/bin/flux-mirror" -warm "${SYNC_RUNS:-10}" -cold "${COLD_RUNS:-3}" -big="${BIG:-true}"
    ;;
  *)
    echo "bench: unknown benchmark $w (secret, sync)" >&2
    exit 2
    ;;
  esac
done
