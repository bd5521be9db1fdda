# The test contract: `make test` is what README.md names and .ci/run calls.
GO ?= go
FUZZTIME ?= 30s

.PHONY: test check unit fuzz bench build

test: check unit fuzz

build:
	$(GO) build -o sluice ./cmd/sluice

# Formatting, vet and staticcheck (pinned in go.mod as a tool).
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# Every test with the race detector, in random order. CI sets
# SLUICE_REQUIRE_CORPUS so tests that need the public corpus fail, not skip.
unit:
	$(GO) test -race -shuffle=on -timeout 40m ./...

# Each fuzz target for a short fixed time: no input may panic or hang.
fuzz:
	@set -e; for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$t $$f $(FUZZTIME)"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$t; \
	  done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
