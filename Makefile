# hookscope — `make help` lists the targets.
GO      ?= go
BENCHBIN := bin/bench

.PHONY: help bench bench-quick bench-go

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bench: ## benchmark harness: capture vs bare Fiber, live feed, queries, RSS (BENCH_QUICK=1 for a short run)
	$(GO) build -o $(BENCHBIN)/hookscope ./cmd/hookscope
	$(GO) build -o $(BENCHBIN)/ceiling ./bench/ceiling
	$(GO) build -o $(BENCHBIN)/runner ./bench/runner
	$(BENCHBIN)/runner -hookscope $(BENCHBIN)/hookscope -ceiling $(BENCHBIN)/ceiling

bench-quick: ## the harness in quick mode (one short run of everything)
	BENCH_QUICK=1 $(MAKE) bench

bench-go: ## Go micro-benchmarks of the hot path (capture handler, pipeline, batcher, signatures)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -p 1 ./web/ ./ingest/ ./ingest/signature/ ./schema/sqlite/
