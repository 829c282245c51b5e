# flux-mirror: build, test and measure.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/fluxcd/flux-mirror/internal/cli.version=$(VERSION)
BIN := bin/flux-mirror

.PHONY: build test testenv bench vet

build: ## Build the stripped binary into bin/.
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/flux-mirror

testenv: ## Build or install the real peers the tests use (kube-apiserver, etcd, registries, crane, oras, credential helpers).
	hack/testenv.sh >/dev/null

test: testenv ## Run every test, the integration tests against a real API server included.
	FLUX_MIRROR_TESTENV_BIN="$$(hack/testenv.sh)" go test -count=1 ./...

vet:
	go vet ./...

bench: testenv build ## Print the performance numbers (see hack/bench.sh).
	FLUX_MIRROR_TESTENV_BIN="$$(hack/testenv.sh)" hack/bench.sh
