# hookscope — `make help` lists the targets.
.DEFAULT_GOAL := help
GO ?= go

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

run: ## run hookscope with the embedded store on :8080 (data in ./hookscope-data)
	$(GO) run ./cmd/hookscope

build: ## build ./bin/hookscope (the inspector is embedded)
	CGO_ENABLED=0 $(GO) build -o bin/hookscope ./cmd/hookscope

test: ## the whole suite: installs what it needs, Go (race), ClickHouse, frontend build check, browser e2e
	./scripts/test.sh

frontend: ## rebuild the inspector into frontend/dist (commit the result)
	cd frontend && npm ci --no-audit --no-fund && npm run build

lint: ## go vet, gofmt and the dependency arrows (internal/archtest)
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) test -count=1 ./internal/archtest

fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-20s} $$pkg || exit 1; \
	  done; done

.PHONY: help run build test frontend lint fuzz

BENCHBIN := bin/bench

bench: ## benchmark harness: capture vs bare Fiber, live feed, queries, RSS (BENCH_QUICK=1: short run)
	$(GO) build -o $(BENCHBIN)/hookscope ./cmd/hookscope
	$(GO) build -o $(BENCHBIN)/ceiling ./bench/ceiling
	$(GO) build -o $(BENCHBIN)/runner ./bench/runner
	$(BENCHBIN)/runner -hookscope $(BENCHBIN)/hookscope -ceiling $(BENCHBIN)/ceiling

bench-go: ## Go micro-benchmarks of the hot path (capture handler, pipeline, batcher, signatures, store batch writes)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -p 1 ./web/ ./ingest/ ./ingest/signature/ ./ingest/event/
	$(GO) test -run '^$$' -bench 'WriteRequests' -benchmem -count 1 -p 1 ./schema/sqlite/ ./schema/clickhouse/

bench-cpu: ## server CPU per persisted capture under wrk -c16 (bench/cpuprofile.sh; PERF=1 adds a perf profile)
	./bench/cpuprofile.sh

bench-cluster: ## cluster mode (issue 15): live feed A→B p99 at 2000 req/s, capture throughput cluster vs single node
	BENCH_CLUSTER=1 $(GO) test -count=1 -v -timeout 30m -run '^TestClusterBench$$' ./bench/cluster/

.PHONY: bench bench-go bench-cpu bench-cluster
