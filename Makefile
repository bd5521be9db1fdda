# The test contract: `make test` is what README.md names and .ci/run calls.
GO ?= go
FUZZTIME ?= 30s
# Targets over in-memory parsers run tens of thousands of inputs a second:
# a shorter run reaches what they can, and keeps the CI total in budget.
# Listed as dir/Func.
FUZZTIME_FAST ?= 15s
FUZZ_FAST = mmapstore/FuzzHeader mmapstore/FuzzJournal mmapstore/FuzzCheck cluster/FuzzDecode
# An input that widens coverage is minimized before fuzzing goes on, by
# default for up to 60 s, longer than a run; the minimizer is quadratic in
# the input's length, so a worker that finds a statfile-sized input (28 KB)
# spent the rest of the run on it and the run counted nothing. CI keeps no
# corpus, so that minimizing bought nothing; crashers are still reported.
FUZZMINIMIZETIME ?= 100x
# Go 1.26's fuzz coordinator can fail a clean run with a bare "context
# deadline exceeded" when -fuzztime ends while a worker is mid-input
# (go.dev/issue/75804; fixed in 1.27). The fuzz step alone runs on 1.27.3,
# which the go command fetches from the module proxy once per machine;
# FUZZ_TOOLCHAIN=local keeps the installed Go.
FUZZ_TOOLCHAIN ?= go1.27.3

.PHONY: test check unit corpus-check fuzz bench build install man deb

# Installation (make install PREFIX=/usr/local DESTDIR=/tmp/stage).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR ?= $(PREFIX)/share/doc/sluice
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# Where build and man write (the install test points them at a temporary directory).
BIN ?= sluice
MAN ?= sluice.1

test: check unit fuzz

# A static binary: CGO_ENABLED=0 keeps the resolver and os/user in Go, so
# the binary has no ELF interpreter and runs on any Linux of its arch.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/sluice

# The man page, written from the binary's own help (internal/manpage).
man: build
	$(GO) run ./internal/manpage/gen -version "sluice $(VERSION)" -prefix "$(PREFIX)" $(BIN) > $(MAN).tmp && mv $(MAN).tmp $(MAN)

# The binary, the man page, the systemd units (pointing at $(BINDIR)), the
# contrib files under $(DOCDIR), and /etc/sluice/sluice.toml unless one
# exists: an admin's configuration is never overwritten.
install: build man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/sluice
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/sluice
	install -m 0644 $(MAN) $(DESTDIR)$(MANDIR)/man1/sluice.1
	for u in contrib/systemd/*.service; do \
	  sed 's|/usr/local/bin/sluice|$(BINDIR)/sluice|g; s|/usr/local/share/doc/sluice|$(DOCDIR)|g' $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u) && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; \
	done
	for f in $$(find contrib -type f -not -path 'contrib/deb/*' | sort); do \
	  mode=0644; [ -x $$f ] && mode=0755; \
	  install -D -m $$mode $$f $(DESTDIR)$(DOCDIR)/$$f || exit 1; \
	done
	sed -i 's|/usr/local/bin/sluice|$(BINDIR)/sluice|g' $(DESTDIR)$(DOCDIR)/contrib/dovecot/*.sh
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	if [ -e $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.toml ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.toml; the shipped one is $(DOCDIR)/contrib/sluice.toml"; \
	else \
	  install -m 0644 contrib/sluice.toml $(DESTDIR)$(SYSCONFDIR)/sluice/sluice.toml; \
	fi

# A Debian package of the install (dpkg-deb; no other tool): PREFIX=/usr,
# units in /lib/systemd/system, /etc/sluice/sluice.toml a conffile, and
# contrib/deb's postinst creating the user sluice and group sluice-learn.
DEB_VERSION ?= 0.0~git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null || echo 0)
DEB_ARCH ?= $(shell $(GO) env GOARCH)
DEBROOT ?= deb-root
DEB ?= sluice_$(DEB_VERSION)_$(DEB_ARCH).deb
# Whoever builds the package maintains that build.
DEB_MAINTAINER ?= $(shell n=$$(git config user.name); e=$$(git config user.email); [ -n "$$n" ] && [ -n "$$e" ] && echo "$$n <$$e>" || echo "Sluice local build <root@localhost>")
deb:
	rm -rf $(DEBROOT)
	$(MAKE) install DESTDIR=$(DEBROOT) PREFIX=/usr UNITDIR=/lib/systemd/system
	install -d $(DEBROOT)/DEBIAN
	sed 's|@VERSION@|$(DEB_VERSION)|; s|@ARCH@|$(DEB_ARCH)|; s|@MAINTAINER@|$(DEB_MAINTAINER)|' contrib/deb/control > $(DEBROOT)/DEBIAN/control
	install -m 0644 contrib/deb/conffiles $(DEBROOT)/DEBIAN/conffiles
	install -m 0755 contrib/deb/postinst $(DEBROOT)/DEBIAN/postinst
	dpkg-deb --root-owner-group --build $(DEBROOT) $(DEB)
	rm -rf $(DEBROOT)

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
	    GOTOOLCHAIN=$(FUZZ_TOOLCHAIN) $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$ft -fuzzminimizetime $(FUZZMINIMIZETIME) $$t; \
	  done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
