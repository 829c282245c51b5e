#!/usr/bin/env bash
# Prints flux-mirror's performance numbers next to the tools it replaces.
# Run through `make bench` (both) or `make bench-sync`.
#
#   hack/bench.sh [secret] [sync] [sync-images] [sync-charts] [sync-referrers] [sync-verify]
#
# secret: the Secret replace against the kubectl pipeline, on the same real
#   kube-apiserver (RUNS runs, default 20).
# sync: the four sync workloads below, one after the other; each alone
#   with its own word. Cold runs (COLD_RUNS, default 3) into fresh
#   destinations and warm re-runs (SYNC_RUNS, default 10). A missing peer
#   fails the run.
# sync-images: `flux-mirror sync` against crane copy, skopeo sync and
#   regsync once on one workload between two real registries, and a 1 GiB
#   layer (BIG=false skips it).
# sync-charts: a charts entry (20 versions of a 1 MiB chart on an nginx
#   chart repository) against helm pull + helm push loops.
# sync-referrers: the images workload with a cosign signature and an SBOM
#   per tag, includeReferrers against oras cp -r and regsync.
# sync-verify: the images workload signed keylessly per tag, sync with
#   verify (trustedRoot) against the same sync without it and against
#   cosign verify run once per tag.
set -euo pipefail
cd "$(dirname "$0")/.."
# GNU time, which measures every command, is a Debian package that each
# hack/testenv.sh call below installs when missing.
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
  sync | sync-images | sync-charts | sync-referrers | sync-verify)
    # skopeo comes from Debian (registry.sh lists it); regsync is built only
    # for this; helm and cosign come from testenv.d/helm.sh.
    case $w in
    sync) peers=(registry crane regsync helm cosign oras nginx) bench='^BenchmarkSync' ;;
    sync-images) peers=(registry crane regsync) bench='^BenchmarkSync$' ;;
    sync-charts) peers=(registry helm nginx) bench='^BenchmarkSyncCharts$' ;;
    sync-referrers) peers=(registry cosign oras regsync) bench='^BenchmarkSyncReferrers$' ;;
    sync-verify) peers=(registry cosign) bench='^BenchmarkSyncVerify$' ;;
    esac
    FLUX_MIRROR_TESTENV_BIN="$(hack/testenv.sh "${peers[@]}")"
    export FLUX_MIRROR_TESTENV_BIN
    go test -run '^$' -bench "$bench" -benchtime 1x -timeout 90m ./hack/bench/syncbench \
      -args -fm "$PWD/bin/flux-mirror" -warm "${SYNC_RUNS:-10}" -cold "${COLD_RUNS:-3}" -big="${BIG:-true}"
    ;;
  *)
    echo "bench: unknown benchmark $w (secret, sync, sync-images, sync-charts, sync-referrers, sync-verify)" >&2
    exit 2
    ;;
  esac
done
