# flux-mirror: build, test and measure.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/fluxcd/flux-mirror/internal/cli.version=$(VERSION)
# grpcnotrace keeps gRPC (linked for the SPIFFE Workload API) from pulling in
# golang.org/x/net/trace: about 4 MB less binary and less memory at start-up.
TAGS := grpcnotrace
BIN := bin/flux-mirror

IMAGE ?= ghcr.io/fluxcd/flux-mirror

# Packages whose tests need no peer: the quick inner loop.
UNIT_PKGS := ./api/... ./internal/selector ./internal/config ./internal/dockerconfig ./internal/jwk ./internal/cloudhost \
	./internal/schematest ./internal/schemagen ./internal/ocilayout ./hack/examplelayout

.PHONY: build test unit testenv bench bench-sync bench-sync-charts bench-sync-referrers bench-sync-verify vet image fuzz

build: ## Build the stripped binary into bin/.
	CGO_ENABLED=0 go build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/flux-mirror

testenv: ## Build or install every real peer the tests use (kube-apiserver, etcd, SPIRE, flux, registries, crane, oras, credential helpers).
	hack/testenv.sh >/dev/null

test: testenv ## Run every test, the integration tests against real peers included.
	FLUX_MIRROR_TESTENV_BIN="$$(hack/testenv.sh)" go test -count=1 ./...
	# -mod=mod: the module replaces flux-mirror with ../.., whose requirements
	# may move ahead of this go.mod between tidies.
	cd test/consumers && FLUX_MIRROR_TESTENV_BIN="$$(../../hack/testenv.sh)" go test -mod=mod -count=1 ./...

unit: ## Run the tests that need no peer (seconds; no testenv).
	go test -count=1 $(UNIT_PKGS)

vet:
	go vet ./...

FUZZTIME ?= 60s

fuzz: ## Fuzz the config loader and ${VAR} substitution for FUZZTIME each (go test runs only their seeds); crashers land in internal/config/testdata/fuzz.
	go test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./internal/config/
	go test -run '^$$' -fuzz '^FuzzSubstitute$$' -fuzztime $(FUZZTIME) ./internal/config/

bench: testenv build ## Print the performance numbers (see hack/bench.sh).
	FLUX_MIRROR_TESTENV_BIN="$$(hack/testenv.sh)" hack/bench.sh

bench-sync: build ## Only sync's numbers (images, charts, referrers, verify) against their peers; builds just the peers it needs.
	hack/bench.sh sync

bench-sync-charts: build ## Only sync's charts numbers against helm pull + helm push loops.
	hack/bench.sh sync-charts

bench-sync-referrers: build ## Only sync's includeReferrers numbers against oras cp -r and regsync.
	hack/bench.sh sync-referrers

bench-sync-verify: build ## Only sync's verify numbers: the cost per tag of checking signatures, next to cosign verify per tag.
	hack/bench.sh sync-verify

image: ## Build and push the container image with ko (no Docker daemon): make image IMAGE=registry.example.com/flux-mirror
	KO_DOCKER_REPO=$(IMAGE) VERSION=$(VERSION) ko build --bare --tags $(VERSION) ./cmd/flux-mirror
