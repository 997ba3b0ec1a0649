GO ?= go
CGO_ENABLED ?= 1
export CGO_ENABLED

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS ?= -X main.version=$(VERSION)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 30s
TEST_TIMEOUT ?= 15m

.PHONY: all run build deps test test-short bench lint fuzz clean

all: build

## build: compile bin/statusd (cgo, for go-sqlite3)
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/statusd ./cmd/statusd

## run: install what building needs, build, and serve the example config on :8080
run:
	bash .ci/deps run
	$(MAKE) build
	./bin/statusd serve --config config.example.yaml

## deps: install system packages, axe-core and Go modules (see .ci/deps)
deps:
	bash .ci/deps

## test: the full suite with the race detector
test: deps
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## test-short: quick tests, no dependency check
test-short:
	$(GO) test -short -count=1 ./...

## bench: Go benchmarks, the probe load (1,000 HTTP probes, 10 s), then a wrk load test against statusd and nginx
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./server ./data
	nice -n 10 $(GO) test -run='^$$' -bench=BenchmarkProbeLoad -benchtime=1x ./probes
	bash .ci/bench-load

## lint: gofmt, go vet and staticcheck
lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## fuzz: run every Fuzz target for FUZZTIME (default 30s) each
fuzz:
	@set -e; \
	list="$$($(GO) test -list '^Fuzz' ./...)" || { echo "$$list"; exit 1; }; \
	targets="$$(echo "$$list" | awk '/^Fuzz/ { n[++c] = $$1; next } /^ok / { for (i = 1; i <= c; i++) print $$2, n[i]; c = 0 }')"; \
	if [ -z "$$targets" ]; then echo "no Fuzz targets found"; exit 0; fi; \
	echo "$$targets" | while read -r pkg target; do \
		echo "==> $$pkg $$target ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg </dev/null; \
	done

## clean: remove build output and test caches
clean:
	rm -rf bin/
	$(GO) clean -testcache
