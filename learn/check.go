package learn

import (
	"errors"
	"fmt"

	"github.com/sluicemail/sluice/mmapstore"
)

// ErrTotalsMismatch is returned by CheckTotals when the statfile's class
// totals disagree with the learn cache's.
var ErrTotalsMismatch = errors.New("learn: class totals disagree with the learn cache")

// CheckTotals checks the class totals of the statfile at path against its
// learn cache, for `sluice fsck`: every learn, relearn and forget through
// a Learner changes the shared totals and the learn cache namespace's
// totals by the same op (appendOps), so the two pairs are equal. A flipped
// bit in either, or totals written by something other than a Learner,
// shows here. A statfile without a learn cache (never learned through
// this package) has nothing to compare and passes.
//
// It reads the header and the namespace directory only (mmapstore.Stat),
// takes no lock, and is exact on a file no writer has open.
func CheckTotals(path string) error {
	info, err := mmapstore.Stat(path)
	if err != nil {
		return fmt.Errorf("learn: check totals: %w", err)
	}
	cacheNS := mmapstore.NamespaceOf(cacheNamespace)
	for _, ns := range info.Namespaces {
		if ns.NS != cacheNS {
			continue
		}
		if ns.Totals != info.Shared {
			return fmt.Errorf("%w: %s: shared totals spam %d, ham %d; the learn cache counts spam %d, ham %d",
				ErrTotalsMismatch, path, info.Shared.Spam, info.Shared.Ham, ns.Totals.Spam, ns.Totals.Ham)
		}
		return nil
	}
	return nil
}
