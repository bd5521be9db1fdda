package mmapstore

import "fmt"

// RepairReport says what RepairJournal kept and what it dropped.
type RepairReport struct {
	Records   int           // good records found in the journal
	Replayed  int           // of them, newer than the statfile and applied to it
	Dropped   []JournalDrop // bad stretches (and undecodable records) left out
	TornBytes int64         // a torn tail dropped after the last good record
	Seq       uint64        // the statfile's applied sequence afterwards
}

// RepairJournal is `sluice fsck --repair` for a journal that is corrupt in
// the middle (which OpenWriter refuses rather than lose the acknowledged
// learns after the bad record): it takes the writer lock, applies every
// good record newer than the statfile, in order, skipping bad stretches,
// sequence gaps and records that do not decode, checkpoints (the journal
// is emptied) and closes. The learns in the dropped records are lost; the
// report lists them. Every record holds absolute values, so a later good
// record sets the keys and totals it carries in full: the totals of a
// namespace learned after the bad record still count the dropped
// message, whose tokens alone are missing.
//
// opts are those of OpenWriter (Params must match the file). It fails
// with ErrLocked while a writer (the learner) has the file open.
func RepairJournal(path string, opts *Options) (RepairReport, error) {
	var rep RepairReport
	w, err := openWriter(path, opts, &rep)
	if err != nil {
		return rep, err
	}
	if err := w.Close(); err != nil {
		return rep, fmt.Errorf("mmapstore: repair %s: %w", path, err)
	}
	return rep, nil
}
