# opsui — make targets. `make test` is what CI runs (.ci/run).

GO        ?= go
BIN       := bin/opsui
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
FUZZTIME  ?= 30s
STATICCHECK_VERSION := v0.8.2
DEADCODE_VERSION    := v0.53.0

# A Go installed by scripts/install-deps.sh lands here.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

.PHONY: all build test deps lint dupcheck bench bench-scale fuzz clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/opsui

deps:
	./scripts/install-deps.sh

# Everything, including the integration tests against real sshd hosts; they
# fail instead of skipping when sshd is missing.
test: deps
	OPSUI_TEST_REQUIRE_SSHD=1 $(GO) test -count=1 -timeout 15m ./...
	$(MAKE) lint

# lint: gofmt, go vet, staticcheck (its `unused` finds unexported dead code)
# and deadcode (scripts/deadcode.sh: exported functions no program or test
# reaches, beyond scripts/deadcode.allow).
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	GO=$(GO) DEADCODE_VERSION=$(DEADCODE_VERSION) ./scripts/deadcode.sh

# New duplicates of six or more lines in non-test code beyond
# scripts/duplicates.baseline. It needs the `duplicates` command of the
# development machines, which no registry serves: without it, it says so and
# passes, so it is not part of lint (CI's fresh clone lacks it).
dupcheck:
	./scripts/dupcheck.sh

# Benchmarks print their figures; they are not part of `make test`. They
# include the scale benchmarks of a simulated 500/1 000/2 000-host fleet
# (BenchmarkFleetScale, BenchmarkConsoleScale; OPSUI_SCALE_SIZES=500,2000
# picks the sizes), which `make bench-scale` runs alone, once each
# (docs/BENCHMARKS.md says how to read them).
bench:
	./scripts/install-deps.sh --bench
	OPSUI_TEST_REQUIRE_SSHD=1 $(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

bench-scale:
	$(GO) test -run '^$$' -bench 'BenchmarkFleetScale|BenchmarkConsoleScale|BenchmarkFleetView2000|BenchmarkColdExecFaults|BenchmarkHeaderChunk2000' -benchtime=1x -count=1 -timeout 30m \
		./ops ./ui ./ui/fleet

# Each fuzz target for FUZZTIME (go test -fuzz takes one target at a time).
fuzz:
	@set -e; for t in FuzzDecodeYAML FuzzParseSSHConfig FuzzParseAnsibleINI; do \
		$(GO) test ./inventory -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s; \
	done

# A demo fleet on this machine (ten SSH hosts on loopback addresses, a real
# Django app behind nginx, memcached) with the console on it; quitting the
# console stops it all. DEMOFLAGS=--keep leaves it up for the CLI.
.PHONY: demo
demo: deps build
	./$(BIN) demo $(DEMOFLAGS)

clean:
	rm -rf bin
