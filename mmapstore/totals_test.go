package mmapstore

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// learnedFile makes a closed statfile with learns in the shared namespace
// and in "user:alice", and returns its path.
func learnedFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stats.db")
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 300 {
		c := Spam
		if i%2 == 1 {
			c = Ham
		}
		mustApply(t, w, Op{Class: c, Delta: 1, Hashes: randHashes(r, 3)},
			Op{NS: NamespaceOf("user:alice"), Name: "user:alice", Class: c, Delta: 1, Hashes: randHashes(r, 3)})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, path)
	return path
}

// flipBit flips one bit of the file at path.
func flipBit(t *testing.T, path string, off int64, bit uint) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1 << bit
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// nsRecordOffset returns the file offset of the record of ns.
func nsRecordOffset(t *testing.T, path string, ns Namespace) int64 {
	t.Helper()
	m, err := openMapping(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.release()
	idx, found := m.nsFind(ns)
	if !found {
		t.Fatal("namespace not in the directory")
	}
	return int64(HeaderSize + m.hdr.capacity*SlotSize + idx*NSRecordSize)
}

// TestTotals_flippedBit: one bit flipped in the learn totals of a closed
// file (the finding: ham became 4,294,967,596 and fsck said ok). Check
// fails naming the checksum, Stat warns, OpenWriter refuses.
func TestTotals_flippedBit(t *testing.T) {
	for _, tc := range []struct {
		name string
		off  func(path string) int64
		bit  uint
	}{
		{"shared ham, bit 32", func(string) int64 { return offSharedHam + 4 }, 0},
		{"shared spam, bit 0", func(string) int64 { return offSharedSpam }, 0},
		{"namespace spam", func(p string) int64 { return nsRecordOffset(t, p, NamespaceOf("user:alice")) + nsSpam + 1 }, 3},
		{"namespace name", func(p string) int64 { return nsRecordOffset(t, p, NamespaceOf("user:alice")) + nsName }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := learnedFile(t)
			flipBit(t, path, tc.off(path), tc.bit)
			err := Check(path)
			if !errors.Is(err, ErrTotalsChecksum) {
				t.Fatalf("Check: %v, want ErrTotalsChecksum", err)
			}
			info, err := Stat(path)
			if err != nil || len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0], "totals") {
				t.Fatalf("Stat: %v, warnings %q", err, info.Warnings)
			}
			if _, err := OpenWriter(path, testOptions()); !errors.Is(err, ErrTotalsChecksum) {
				t.Fatalf("OpenWriter: %v, want ErrTotalsChecksum", err)
			}
		})
	}
}

// TestTotals_changedUnderTheWriter: a bit flipped while the writer runs
// stops it at its next Apply instead of being learned on.
func TestTotals_changedUnderTheWriter(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	mustApply(t, w, Op{Class: Ham, Delta: 1, Hashes: []uint64{1, 2}})
	flipBit(t, path, offSharedHam+4, 0) // the page cache the writer maps
	if _, err := w.Apply(Op{Class: Ham, Delta: 1, Hashes: []uint64{3}}); !errors.Is(err, ErrTotalsChecksum) || !errors.Is(err, ErrFailed) {
		t.Fatalf("Apply: %v, want ErrTotalsChecksum and ErrFailed", err)
	}
	flipBit(t, path, offSharedHam+4, 0) // put it back, so the cleanup's Check passes
}

// TestTotals_slotDamage: a bit flipped in a slot key is found by Check.
func TestTotals_slotDamage(t *testing.T) {
	path := learnedFile(t)
	m, err := openMapping(path, false)
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	for i := range m.hdr.capacity {
		if m.slots[2*i] != 0 {
			off = int64(HeaderSize + i*SlotSize + 7) // the key's top byte: its home slot moves
			break
		}
	}
	m.release()
	flipBit(t, path, off, 6)
	if err := Check(path); err == nil || !strings.Contains(err.Error(), "slot ") {
		t.Fatalf("Check: %v, want a slot problem", err)
	}
}

// TestTotals_upgradeFromVersion1: a version 1 file (no totals checksum)
// is read as it is, and the next writer upgrades it to version 2.
func TestTotals_upgradeFromVersion1(t *testing.T) {
	path := learnedFile(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := decodeHeader(b, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	h.version = 1
	h.encodeStatic(b)
	clear(b[offTotalsSum : offTotalsSum+8])
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, path)
	r, err := OpenReader(path, testParams)
	if err != nil {
		t.Fatalf("OpenReader of a version 1 file: %v", err)
	}
	r.Close()
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatalf("OpenWriter of a version 1 file: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := openMapping(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.release()
	if m.hdr.version != Version || !m.sealed() {
		t.Fatalf("after the writer: version %d, sealed %v", m.hdr.version, m.sealed())
	}
	mustCheck(t, path)
}
