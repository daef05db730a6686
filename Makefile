# bftnode — build, test and run a local validator network.
# Every tool the targets need is installed by `go install` into ./.bin at a pinned version.

GO        ?= go
BIN       := $(CURDIR)/.bin
BFTNODE   := ./build/bftnode
export PATH := $(BIN):$(PATH)

STATICCHECK_VERSION := v0.8.2
BUF_VERSION         := v1.75.0
GOGOPROTO_VERSION   := v1.7.2
# The CometBFT the interop suite runs as a counterpart process (its
# `cometbft testnet`, `cometbft start`, `cometbft light`); the test module's
# go.mod pins the same version for the library side.
COMETBFT_VERSION    := v0.40.0

PKGS := ./...

.PHONY: all build install test test-long fmt-check vet staticcheck unit interop interop-deps chromium ui-screenshots tidy-check fuzz-short proto tools localnet localnet-stop localnet-reset docker clean

all: build

build:
	$(GO) build -o $(BFTNODE) ./cmd/bftnode

## install: put bftnode on the PATH (in $(shell go env GOPATH)/bin, or $$GOBIN).
install:
	$(GO) install ./cmd/bftnode

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(BIN)/buf:
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)

$(BIN)/protoc-gen-gocosmos:
	GOBIN=$(BIN) $(GO) install github.com/cosmos/gogoproto/protoc-gen-gocosmos@$(GOGOPROTO_VERSION)

$(BIN)/cometbft:
	GOBIN=$(BIN) $(GO) install github.com/cometbft/cometbft/cmd/cometbft@$(COMETBFT_VERSION)

tools: $(BIN)/staticcheck $(BIN)/cometbft

# apt-install PACKAGES installs Debian packages, as root or through sudo.
apt-install = if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); fi

## interop-deps: Node.js (Debian's package when missing) and CosmJS, pinned by
## test/interop/cosmjs/package-lock.json, for TestCosmJSClientReadsBftnode.
interop-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "installing Node.js (apt-get install nodejs npm)"; $(call apt-install,nodejs npm); }
	cd test/interop/cosmjs && npm ci --no-audit --no-fund --loglevel=error

## test: everything CI runs (format, vet, staticcheck, race tests, quick simulator set,
## the interop suite against CometBFT v0.40.0, short fuzzing).
test: fmt-check tidy-check vet staticcheck unit interop fuzz-short

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## tidy-check: go.mod and go.sum of both modules are what `go mod tidy` writes.
tidy-check:
	$(GO) mod tidy -diff
	cd test/interop && $(GO) mod tidy -diff

vet:
	$(GO) vet $(PKGS)

staticcheck: $(BIN)/staticcheck
	$(BIN)/staticcheck $(PKGS)

# The race detector runs on every package with goroutines; the simulator
# steps its engines one at a time on one goroutine, and runs its quick set
# (and its command's tests) without it (5-10x faster).
unit:
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list $(PKGS) | grep -v '/sim$$' | grep -v '/sim/simcli$$')
	$(GO) test -count=1 -timeout 10m ./sim ./sim/simcli

## interop: the separate module test/interop, CometBFT v0.40.0's own code (from the
## Go module proxy) and its binary (COMETBFT_BIN), and CosmJS's RPC client (from the
## npm registry), against bftnode processes built from this tree.
interop: $(BIN)/staticcheck $(BIN)/cometbft interop-deps chromium
	cd test/interop && $(GO) vet ./... && $(BIN)/staticcheck ./...
	cd test/interop && COMETBFT_BIN=$(BIN)/cometbft $(GO) test -count=1 -timeout 30m ./...

## chromium: the headless browser the web view's tests drive (test/interop/ui_*_test.go),
## installed from Debian's packages when none is on the PATH and CHROMIUM_BIN is unset.
chromium:
	@if [ -z "$$CHROMIUM_BIN" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then \
		echo "installing chromium from Debian's packages for the web view's browser tests"; \
		{ $(call apt-install,chromium); } || \
		{ echo "could not install chromium: run 'apt-get install -y chromium' as root, or set CHROMIUM_BIN to a Chromium binary"; exit 1; }; \
	fi

## ui-screenshots: redo docs/ui-localnet.png and docs/ui-simulated-fork.png with the
## web view's browser tests.
ui-screenshots: chromium
	cd test/interop && UI_SCREENSHOT_DIR=$(CURDIR)/docs $(GO) test -count=1 -run 'TestUILiveFollowsNetwork|TestUIPlaysSimulatedFork' ./...

# Each fuzz target runs over its committed corpus (testdata/fuzz) for an
# execution count (scripts/fuzz.sh says why counts, not durations);
# FUZZTIME=10m runs each for a duration instead.
FUZZTIME ?=
fuzz-short:
	@scripts/fuzz.sh $(FUZZTIME)

## test-long: the long forms (many more simulator seeds, longer fuzzing, the
## vote extensions interop run at 300 heights).
test-long:
	BFTNODE_LONG=1 $(GO) test -count=1 -timeout 120m $(PKGS)
	cd test/interop && BFTNODE_LONG=1 $(GO) test -count=1 -timeout 30m -run 'TestCometE2EAppVoteExtensions$$' .
	$(MAKE) fuzz-short FUZZTIME=10m

## proto: regenerate the committed gogoproto code from proto/**/*.proto.
proto: $(BIN)/buf $(BIN)/protoc-gen-gocosmos
	scripts/protogen.sh

## bench-compare: CometBFT v0.40.0 and bftnode side by side on this machine, each
## figure on fresh 4-validator networks of both (7 for one), the same `bftnode bench`
## against each, alternating, medians of 3; prints a table and JSON (30-40 min).
## BENCH_QUICK=1 is a rough pass in minutes; BENCH_RUNS, BENCH_FIGURES, BENCH_JSON adjust it.
bench-compare: build $(BIN)/cometbft
	$(GO) run ./scripts/benchcompare $(BENCH_COMPARE_FLAGS)

## localnet: build and start a 4-validator network on loopback with the kvstore app
## (under ./localnet/build, reused when present; LOCALNET_FLAGS=--detach returns once it is up).
localnet: build
	localnet/run.sh $(BFTNODE) $(LOCALNET_FLAGS)

## localnet-stop: stop the nodes that `make localnet` started.
localnet-stop:
	localnet/stop.sh

## localnet-reset: stop the local network and wipe its chain data and keys.
localnet-reset: localnet-stop
	rm -rf ./localnet/build

## docker: build the bftnode image (FROM scratch) that docker-compose.yml runs.
docker:
	docker build -t bftnode:latest .

clean:
	rm -rf $(BIN) build localnet/build
