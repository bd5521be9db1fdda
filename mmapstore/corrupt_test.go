package mmapstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// makeFile returns the path of a small, closed statfile with some tokens.
func makeFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stats.db")
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: []uint64{1, 2, 3}},
		Op{NS: NamespaceOf("user:x"), Name: "user:x", Class: Ham, Delta: 1, Hashes: []uint64{4}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpen_corruptFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(b []byte) []byte
		want    error
	}{
		{"empty", func(b []byte) []byte { return nil }, ErrTruncated},
		{"truncated header", func(b []byte) []byte { return b[:100] }, ErrTruncated},
		{"truncated table", func(b []byte) []byte { return b[:len(b)-1000] }, ErrTruncated},
		{"longer", func(b []byte) []byte { return append(b, make([]byte, 4096)...) }, ErrGeometry},
		{"magic", func(b []byte) []byte { b[0] ^= 1; return b }, ErrNotStatfile},
		{"version", func(b []byte) []byte { b[offVersion] = 9; return b }, ErrVersion},
		{"capacity", func(b []byte) []byte { b[offCapacity+2] ^= 0x10; return b }, ErrChecksum},
		{"window", func(b []byte) []byte { b[offWindow] ^= 0xff; return b }, ErrChecksum},
		{"checksum", func(b []byte) []byte { b[offChecksum] ^= 0xff; return b }, ErrChecksum},
		{"hash name", func(b []byte) []byte { b[offHashName] = 'X'; return b }, ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := makeFile(t)
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, tc.corrupt(b), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := OpenReader(path, testParams); !errors.Is(err, tc.want) {
				t.Errorf("OpenReader: got %v, want %v", err, tc.want)
			}
			if _, err := OpenWriter(path, testOptions()); !errors.Is(err, tc.want) {
				t.Errorf("OpenWriter: got %v, want %v", err, tc.want)
			}
			var ce *CorruptError
			if err := Check(path); !errors.As(err, &ce) || !errors.Is(err, tc.want) {
				t.Errorf("Check: got %v, want CorruptError with %v", err, tc.want)
			}
			if _, err := Stat(path); !errors.Is(err, tc.want) {
				t.Errorf("Stat: got %v", err)
			}
		})
	}
}

// TestCheck_slotProblems plants bad slots (flipped dynamic header bytes are
// outside the checksum) and expects Check to list each problem.
func TestCheck_slotProblems(t *testing.T) {
	path := makeFile(t)
	b, _ := os.ReadFile(path)
	le := func(off int, v uint64) {
		for i := range 8 {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	capacity := uint64(minSlots)
	shift := slotShift(capacity)
	// A key far from its home with an empty slot between: unreachable.
	k := uint64(5) << shift // home 5
	le(HeaderSize+int(600)*SlotSize, k)
	le(HeaderSize+int(600)*SlotSize+8, 1)
	// Counts in an empty slot.
	le(HeaderSize+int(1000)*SlotSize+8, 7)
	// Wrong used count.
	le(offUsed, 99)
	os.WriteFile(path, b, 0o644)
	err := Check(path)
	var ce *CorruptError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("Check: %v", err)
	}
	t.Log(err)
}

func TestJournal_tornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.db")
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: []uint64{uint64(i), 100}})
	}
	// Simulate a crash: copy the journal before Close checkpoints it.
	jb, _ := os.ReadFile(path + ".journal")
	w.Close()
	// Put back a statfile without the learns: recreate empty, then restore the journal cut mid-record.
	os.Remove(path)
	w, _ = OpenWriter(path, testOptions())
	w.Close()
	cut := jb[:len(jb)-7]
	os.WriteFile(path+".journal", cut, 0o644)
	if err := Check(path); err != nil {
		t.Fatalf("Check with torn tail: %v", err)
	}
	w, err = OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if c := lookupOne(t, w, Shared, 100); c.Spam != 9 {
		t.Errorf("after replay of 9 whole records: %+v", c)
	}
	if c := lookupOne(t, w, Shared, 9); c.Spam != 0 {
		t.Errorf("torn record applied: %+v", c)
	}
	w.Close()
	mustCheck(t, path)
}

func TestJournal_garbage(t *testing.T) {
	path := makeFile(t)
	os.WriteFile(path+".journal", bytes.Repeat([]byte("garbage!"), 100), 0o644)
	if _, err := OpenWriter(path, testOptions()); !errors.Is(err, ErrJournalCorrupt) {
		t.Errorf("OpenWriter: %v", err)
	}
	if err := Check(path); !errors.Is(err, ErrJournalCorrupt) {
		t.Errorf("Check: %v", err)
	}
	// Readers do not read the journal.
	r, err := OpenReader(path, testParams)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	// A journal whose records are garbage after a valid header: a torn tail.
	hdr := make([]byte, journalHeaderSize)
	copy(hdr, journalMagic)
	hdr[8] = journalVersion
	os.WriteFile(path+".journal", append(hdr, bytes.Repeat([]byte{0xff}, 100)...), 0o644)
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	mustCheck(t, path)
}

// FuzzOpen feeds random bytes as a statfile (and as a journal) to every
// entry point: errors, never panics. It is the end-to-end target, at the
// cost of files and system calls per input; the parsers on its path have
// faster targets of their own in fuzz_test.go.
func FuzzOpen(f *testing.F) {
	wf := makeWriterFiles(f)
	f.Add(wf.small, []byte(nil))
	f.Add(wf.small[:HeaderSize], []byte(journalMagic))
	f.Add([]byte(Magic), []byte{})
	f.Add(wf.crashed, wf.journal)
	f.Add(wf.dense, wf.journal[:len(wf.journal)-7])
	// One directory per worker process, its files rewritten for each
	// input: t.TempDir would create and remove a directory per input.
	path := filepath.Join(f.TempDir(), "f.db")
	f.Fuzz(func(t *testing.T, data, journal []byte) {
		writeInputFile(t, path, data)
		writeInputFile(t, path+".journal", journal)
		if err := os.Remove(path + ".tmp"); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		r, err := OpenReader(path, testParams)
		if err == nil {
			out := make([]Counts, 3)
			r.Lookup(Shared, []uint64{1, 2, 3}, out)
			r.Lookup(NamespaceOf("x"), []uint64{1, 2, 3}, out)
			r.Close()
		}
		Stat(path)
		Check(path)
		if err != nil {
			// The writer maps the file the same way and would refuse it
			// for the same reason, after taking its lock for nothing.
			return
		}
		if w, err := OpenWriter(path, testOptions()); err == nil {
			w.Apply(Op{Class: Ham, Delta: 1, Hashes: []uint64{4, 5}})
			w.Close()
		}
	})
}

// writeInputFile writes a fuzz input where the code under test reads it.
// It overwrites the file in place and then sets its length, rather than
// truncating it to zero first (os.WriteFile): ext4 flushes a file that was
// truncated to zero and rewritten when it is closed, and that flush was a
// third of FuzzOpen's time per input.
func writeInputFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpen_wrongCountersInACleanFile: the used counters lie outside the
// checksum. A file marked clean whose counters say fewer tokens and
// namespaces than it holds must not mislead the writer: it recounts, so
// the namespace directory grows in time and no namespace's totals are
// overwritten by a new one.
func TestOpen_wrongCountersInACleanFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stats.db")
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	const first = 45 // of 64 records: near the directory's load limit
	for i := range first {
		mustApply(t, w, Op{NS: NamespaceOf(fmt.Sprint("old", i)), Name: fmt.Sprint("old", i), Class: Spam, Delta: 1, Hashes: []uint64{uint64(i + 1)}})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[offUsed:], 0)
	binary.LittleEndian.PutUint64(b[offNSUsed:], 0)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	w, err = OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		w.Close()
		mustCheck(t, path)
	}()
	for i := range 40 {
		mustApply(t, w, Op{NS: NamespaceOf(fmt.Sprint("new", i)), Name: fmt.Sprint("new", i), Class: Ham, Delta: 1, Hashes: []uint64{uint64(1000 + i)}})
	}
	for i := range first {
		ns := NamespaceOf(fmt.Sprint("old", i))
		if got := lookupOne(t, w, ns, uint64(i+1)); got.Spam != 1 {
			t.Fatalf("namespace old%d: token counts %+v after new namespaces were added", i, got)
		}
		if tot, err := w.Lookup(ns, nil, nil); err != nil || tot.Spam != 1 {
			t.Fatalf("namespace old%d: totals %+v, %v after new namespaces were added", i, tot, err)
		}
	}
}
