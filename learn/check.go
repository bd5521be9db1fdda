package learn

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicemail/sluice/mmapstore"
)

// ErrTotalsMismatch is returned by CheckTotals when the statfile's class
// totals disagree with the learn cache's.
var ErrTotalsMismatch = errors.New("learn: class totals disagree with the learn cache")

// ErrBadReplicationState is returned by CheckTotals when the values kept
// for applying replicated events (cursor, origin marks, user learn times)
// are not what ApplyEvent writes.
var ErrBadReplicationState = errors.New("learn: bad replication state")

// CheckTotals checks the class totals of the statfile at path against its
// learn cache, for `sluice fsck`: every learn, relearn and forget through
// a Learner changes the shared totals and the learn cache namespace's
// totals by the same op (appendOps), so the two pairs are equal. A flipped
// bit in either, or totals written by something other than a Learner,
// shows here. A statfile without a learn cache (never learned through
// this package) has nothing to compare and passes.
//
// It also checks the values ApplyEvent and the user cap keep as namespace
// totals (see apply.go): the stream cursor, the origin marks and the
// users' learn times hold their value in the spam total and 0 in the ham
// total, under a name whose namespace they are (not cut short, in the
// form ApplyEvent and the user cap write); there are
// at most MaxOrigins origins, each with a name ApplyEvent accepts.
//
// It reads the header and the namespace directory only (mmapstore.Stat),
// takes no lock, and is exact on a file no writer has open.
func CheckTotals(path string) error {
	info, err := mmapstore.Stat(path)
	if err != nil {
		return fmt.Errorf("learn: check totals: %w", err)
	}
	cacheNS := mmapstore.NamespaceOf(cacheNamespace)
	var errs []error
	origins := 0
	for _, ns := range info.Namespaces {
		if ns.NS == cacheNS && ns.Totals != info.Shared {
			errs = append(errs, fmt.Errorf("%w: %s: shared totals spam %d, ham %d; the learn cache counts spam %d, ham %d",
				ErrTotalsMismatch, path, info.Shared.Spam, info.Shared.Ham, ns.Totals.Spam, ns.Totals.Ham))
		}
		origin, isOrigin := strings.CutPrefix(ns.Name, originPrefix)
		if !isOrigin && ns.Name != cursorNamespace && !strings.HasPrefix(ns.Name, seenPrefix) {
			continue
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%w: %s: namespace %q: %s", ErrBadReplicationState, path, ns.Name, fmt.Sprintf(format, args...)))
		}
		if ns.Totals == (mmapstore.Totals{}) {
			continue // a value set to 0: removed, dropped at the next rebuild
		}
		if ns.Totals.Ham != 0 {
			bad("ham total %d, want 0 (the value is in the spam total)", ns.Totals.Ham)
		}
		if mmapstore.NamespaceOf(ns.Name) != ns.NS {
			bad("its name is not its namespace's (%#x)", uint64(ns.NS))
			continue
		}
		if _, ok := parseSeen(ns.Name); strings.HasPrefix(ns.Name, seenPrefix) && !ok {
			bad("not a user learn time record (%s and 16 hex digits)", seenPrefix)
		}
		if isOrigin {
			origins++
			if origin == "" || len(origin) > MaxOriginLen || !printableOrigin(origin) {
				bad("not an origin name ApplyEvent accepts")
			}
		}
	}
	if origins > MaxOrigins {
		errs = append(errs, fmt.Errorf("%w: %s: %d origins, more than %d", ErrBadReplicationState, path, origins, MaxOrigins))
	}
	return errors.Join(errs...)
}
