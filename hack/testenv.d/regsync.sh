# regsync (github.com/regclient/regclient): a registry mirroring peer that
# the sync benchmark (hack/bench/syncbench) measures flux-mirror sync against.
# No test needs regsync, so it is not a default peer: hack/bench.sh asks for
# it by name. GNU time measures every command the benchmarks run, and the
# tests' peak-memory checks (testenv.Measure); like every APT_PACKAGES entry
# it is installed whatever peers are asked for.

REGSYNC_VERSION=${REGSYNC_VERSION:-v0.11.7}
APT_PACKAGES+=(time)

# build_go_tool comes from registry.sh: every file here is sourced before
# any peer function runs.
peer_regsync() {
  build_go_tool regsync "$REGSYNC_VERSION" \
    "github.com/regclient/regclient/cmd/regsync@$REGSYNC_VERSION" \
    github.com/regclient/regclient/cmd/regsync
}
