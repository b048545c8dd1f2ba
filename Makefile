# Short aliases only; the logic lives in Go and in scripts/.
GO ?= go
# SQLite's FTS5 (keyword search) is compiled into mattn/go-sqlite3 only
# with this tag; every go command here, and the ones tests run, take it.
export GOFLAGS += -tags=sqlite_fts5

.PHONY: build test test-short fuzz bench vet

build:
	$(GO) build -o bin/shelf ./cmd/shelf

# The README's test command: every test, with the race detector.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

test-short:
	$(GO) test -count=1 ./...

# Run each fuzz target for a short while.
fuzz:
	scripts/fuzz.sh 20s

# Benchmarks; see docs/PERFORMANCE.md for what they report.
bench:
	scripts/bench.sh
