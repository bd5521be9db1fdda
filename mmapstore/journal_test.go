package mmapstore

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// crash drops a writer the way a machine crash does: no checkpoint, no
// clean flag, and the statfile as it was on disk at empty (the mapping's
// dirty pages lost, as NoSync allows); the journal keeps every
// acknowledged record. empty is the file's content before the learns.
func crash(t *testing.T, w *Writer, empty []byte) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if err := errors.Join(w.m.release(), w.j.f.Close(), unlockFile(w.lock), w.lock.Close()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.path, empty, 0o644); err != nil {
		t.Fatal(err)
	}
}

// openForCrash opens a writer on a new file large enough never to grow
// in these tests, and returns it with the file's empty content.
func openForCrash(t *testing.T) (w *Writer, path string, o *Options, empty []byte) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "stats.db")
	o = testOptions()
	o.CheckpointBytes = -1
	o.InitialSlots = 1 << 13
	w, err := OpenWriter(path, o)
	if err != nil {
		t.Fatal(err)
	}
	if empty, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	return w, path, o, empty
}

// recordOffsets returns the offset of every record of journal b.
func recordOffsets(b []byte) []int {
	var offs []int
	for off := journalHeaderSize; off+recordHeaderSize <= len(b); {
		offs = append(offs, off)
		off += recordHeaderSize + int(binary.LittleEndian.Uint32(b[off:]))
	}
	return offs
}

// TestJournal_bitFlipInTheMiddle: 100 acknowledged learns, a crash, one
// bit flipped in record 6. The writer refuses to open, naming the record,
// and leaves the journal as it was; Check fails; RepairJournal keeps the
// 99 good records. Before, the flip read as a torn tail: Check said ok
// and the writer truncated 95 acknowledged learns away.
func TestJournal_bitFlipInTheMiddle(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(rec []byte) int // byte to flip, relative to record 6
	}{
		{"payload", func(rec []byte) int { return recordHeaderSize + 20 }},
		{"crc", func(rec []byte) int { return 5 }},
		{"seq", func(rec []byte) int { return 8 }},
		{"length, low bit", func(rec []byte) int { return 0 }},
		{"length, high bit", func(rec []byte) int { return 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, path, o, empty := openForCrash(t)
			for i := range uint64(100) {
				mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: messageHashes(i)})
			}
			crash(t, w, empty)
			jpath := path + ".journal"
			jb, err := os.ReadFile(jpath)
			if err != nil {
				t.Fatal(err)
			}
			offs := recordOffsets(jb)
			if len(offs) != 100 {
				t.Fatalf("%d records in the journal, want 100", len(offs))
			}
			at := offs[5] + tc.at(jb[offs[5]:])
			jb[at] ^= 1 << 7
			if tc.name == "length, low bit" {
				jb[at] ^= 1<<7 | 1
			}
			if err := os.WriteFile(jpath, jb, 0o644); err != nil {
				t.Fatal(err)
			}

			_, err = OpenWriter(path, o)
			if !errors.Is(err, ErrJournalCorrupt) || !strings.Contains(err.Error(), "record 6 ") {
				t.Fatalf("OpenWriter: %v, want ErrJournalCorrupt naming record 6", err)
			}
			if after, _ := os.ReadFile(jpath); string(after) != string(jb) {
				t.Fatal("the refused open changed the journal")
			}
			err = Check(path)
			if !errors.Is(err, ErrJournalCorrupt) || !strings.Contains(err.Error(), "record 6 ") {
				t.Fatalf("Check: %v, want ErrJournalCorrupt naming record 6", err)
			}
			info, err := Stat(path)
			if err != nil || len(info.Warnings) == 0 {
				t.Fatalf("Stat: %v, warnings %q", err, info.Warnings)
			}

			rep, err := RepairJournal(path, o)
			if err != nil {
				t.Fatalf("RepairJournal: %v", err)
			}
			if rep.Records != 99 || rep.Replayed != 99 || len(rep.Dropped) != 1 || rep.Dropped[0].Record != 6 || rep.Dropped[0].AfterSeq != 5 {
				t.Fatalf("repair report %+v, want 99 replayed and record 6 dropped", rep)
			}
			mustCheck(t, path)
			w, err = OpenWriter(path, o)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			out := make([]Counts, 40)
			for i := range uint64(100) {
				if _, err := w.Lookup(Shared, messageHashes(i), out); err != nil {
					t.Fatal(err)
				}
				want := uint32(1)
				if i == 5 {
					want = 0
				}
				if out[0].Spam != want {
					t.Errorf("message %d: %+v, want spam %d", i, out[0], want)
				}
			}
		})
	}
}

// TestJournal_tornLastRecordIsNotCorruption: a bad last record (the only
// kind a crash makes) is still a torn tail, dropped with a warning.
func TestJournal_tornLastRecordIsNotCorruption(t *testing.T) {
	w, path, o, empty := openForCrash(t)
	for i := range uint64(10) {
		mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: messageHashes(i)})
	}
	crash(t, w, empty)
	jpath := path + ".journal"
	jb, _ := os.ReadFile(jpath)
	offs := recordOffsets(jb)
	jb[offs[9]+recordHeaderSize+3] ^= 4    // the last record, as a torn write leaves it
	jb = append(jb, make([]byte, 4096)...) // and zeros the file system added
	os.WriteFile(jpath, jb, 0o644)
	mustCheck(t, path)
	w, err := OpenWriter(path, o)
	if err != nil {
		t.Fatalf("OpenWriter: %v", err)
	}
	defer w.Close()
	if c := lookupOne(t, w, Shared, messageHashes(8)[0]); c.Spam != 1 {
		t.Errorf("message 8: %+v", c)
	}
	if c := lookupOne(t, w, Shared, messageHashes(9)[0]); c.Spam != 0 {
		t.Errorf("torn message 9: %+v", c)
	}
}
