# The test contract: `make test` is what README.md names and .ci/run calls.
GO ?= go
FUZZTIME ?= 30s
# Targets over in-memory parsers run tens of thousands of inputs a second:
# a shorter run reaches what they can, and keeps the CI total in budget.
# Listed as dir/Func.
FUZZTIME_FAST ?= 15s
FUZZ_FAST = mmapstore/FuzzHeader mmapstore/FuzzJournal mmapstore/FuzzCheck
# An input that widens coverage is minimized before fuzzing goes on, by
# default for up to 60 s, longer than a run; the minimizer is quadratic in
# the input's length, so a worker that finds a statfile-sized input (28 KB)
# spent the rest of the run on it and the run counted nothing. CI keeps no
# corpus, so that minimizing bought nothing; crashers are still reported.
FUZZMINIMIZETIME ?= 100x

.PHONY: test check unit corpus-check fuzz bench build

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
unit: corpus-check
	$(GO) test -race -shuffle=on -timeout 40m ./...

# Says where the public corpus must be before the tests that need it skip
# (or, with SLUICE_REQUIRE_CORPUS, fail): $$SLUICE_CORPUS, else
# shared/corpora/spamassassin-public.tar.gz in an ancestor directory (the
# checkout beside ../shared, as internal/corpus.Find looks).
corpus-check:
	@if [ -n "$$SLUICE_CORPUS" ]; then \
	  [ -f "$$SLUICE_CORPUS" ] || { echo "SLUICE_CORPUS=$$SLUICE_CORPUS: no such file"; exit 1; }; \
	else \
	  d=$$(pwd); while [ "$$d" != / ] && [ ! -f "$$d/shared/corpora/spamassassin-public.tar.gz" ]; do d=$$(dirname "$$d"); done; \
	  if [ "$$d" = / ]; then \
	    echo "NOTE: no corpus: tests that need it will SKIP. Put spamassassin-public.tar.gz in ../shared/corpora/"; \
	    echo "      (how it is split: ../shared/corpora/README.md) or set SLUICE_CORPUS=/path/to/spamassassin-public.tar.gz."; \
	    if [ -n "$$SLUICE_REQUIRE_CORPUS" ]; then echo "SLUICE_REQUIRE_CORPUS is set: failing."; exit 1; fi; \
	  fi; \
	fi

# Each fuzz target for a short fixed time (FUZZTIME, or FUZZTIME_FAST for
# those in FUZZ_FAST): no input may panic or hang.
fuzz:
	@set -e; for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    ft=$(FUZZTIME); case " $(FUZZ_FAST) " in *" $${t#./}/$$f "*) ft=$(FUZZTIME_FAST);; esac; \
	    echo "fuzz $$t $$f $$ft"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$ft -fuzzminimizetime $(FUZZMINIMIZETIME) $$t; \
	  done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
