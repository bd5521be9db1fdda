package corpus

import (
	"errors"
	"os"
	"testing"
)

// Require returns the corpus path for a test or benchmark. When the corpus is
// absent it skips, unless SLUICE_REQUIRE_CORPUS is set (CI sets it), in which
// case absence fails the test.
func Require(tb testing.TB) string {
	tb.Helper()
	p, err := Find()
	if errors.Is(err, ErrNotFound) && os.Getenv("SLUICE_REQUIRE_CORPUS") == "" {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
