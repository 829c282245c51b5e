// Package syncbench measures `flux-mirror sync` against the tools it is
// compared with, on three workloads, and prints tables (cold and warm wall
// time, CPU and peak memory, what the destination received and the
// requests of a warm re-run, from the registries' access logs and storage).
//
// BenchmarkSync: issue 8's workload copied between two real distribution
// v3 registries on loopback, against crane copy four at a time (as the
// public flux-mirror runs it), skopeo sync --all and regsync once; and the
// peak memory of copying one image with a single 1 GiB layer.
//
// BenchmarkSyncCharts: issue 10's charts workload, 20 versions of a 1 MiB
// chart packaged and indexed by the real helm CLI and served by nginx, put
// into a registry by a charts entry, against helm pull + helm push loops
// (helm has no "skip if present": once re-running everything, once
// looking each version up first with helm show chart).
//
// BenchmarkSyncReferrers: issue 8's workload with a real cosign signature
// (tag-based .sig) and an SBOM attached by the real oras per tag, mirrored
// with includeReferrers, against oras cp -r (plus an oras cp of each .sig
// tag, which -r does not follow) and regsync once with referrers and
// digestTags; every tool also runs without referrers, to show their cost.
//
// BenchmarkSyncArchive: issue 8's workload exported into files and
// imported from them into an empty registry (issue 13), by flux-mirror
// (--to-archive/--from-archive, tar and tar.zst), oras (cp -r with
// --to-oci-layout/--from-oci-layout) and skopeo (copy --all into
// oci-archive:, one archive per tag): time, peak memory, file size.
//
// BenchmarkSyncVerify: issue 8's workload, each tag's index signed
// keylessly by the test Sigstore (issue 11), mirrored by an entry that
// verifies against a trustedRoot file, against the same sync without
// verify (copying, and as a dry run, which verifies every tag on every
// run) and the real cosign verify run once per tag: the cost per tag.
//
// It is a Go benchmark so that it reuses internal/testenv's registry,
// nginx and image helpers; it asserts nothing about time:
//
//	go test -run '^$' -bench '^BenchmarkSync' -benchtime 1x -timeout 90m ./hack/bench/syncbench \
//	  -args -fm "$PWD/bin/flux-mirror" -warm 10 -cold 3
//
// hack/bench.sh sync (make bench-sync) runs it with the peers built.
package syncbench
