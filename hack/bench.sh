#!/usr/bin/env bash
# Prints flux-mirror's performance numbers next to the kubectl pipeline it
# replaces, on the same real kube-apiserver. Run through `make bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "bench: GNU time is missing: apt-get install time" >&2; exit 1; }
bin=$(hack/testenv.sh kubectl)
export FLUX_MIRROR_TESTENV_BIN="$bin"
go run ./hack/bench -n "${RUNS:-20}" -bin bin/flux-mirror -kubectl "$bin/kubectl"
# Many hosts: resolving them concurrently costs about the slowest one.
go test -run '^$' -bench MixedConfig -benchtime 5x ./internal/credential/ | grep -E '^Benchmark'
