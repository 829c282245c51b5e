// Package syncbench measures `flux-mirror sync` against the tools it is
// compared with (crane copy four at a time, as the public flux-mirror runs
// it; skopeo sync --all; regsync once) on issue 8's workload, copied
// between two real distribution v3 registries on loopback: cold and warm
// wall time, CPU and peak memory, what the destination received (committed
// uploads, mounts, bytes) and the requests of a warm re-run, from the
// registries' access logs and storage; and the peak memory of copying one
// image with a single 1 GiB layer.
//
// It is a Go benchmark so that it reuses internal/testenv's registry and
// image helpers; it prints tables and asserts nothing about time:
//
//	go test -run '^$' -bench '^BenchmarkSync$' -benchtime 1x -timeout 60m ./hack/bench/syncbench \
//	  -args -fm "$PWD/bin/flux-mirror" -warm 10 -cold 3
//
// hack/bench.sh sync (make bench-sync) runs it with the peers built.
package syncbench
