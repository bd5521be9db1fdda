package mmapstore

import (
	"bytes"
	"encoding/binary"
	"flag"
	"hash/crc32"
	"os"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/journal.golden from goldenRecords")

// goldenRecords are the contents of testdata/journal.golden: two records,
// the second with a named namespace.
var goldenRecords = []struct {
	seq uint64
	es  []entry
	nss []nsEntry
}{
	{7, []entry{{0x1111111111111111, pack(Counts{Spam: 1, Ham: 2})}, {0x2222222222222222, pack(Counts{Spam: 3})}},
		[]nsEntry{{ns: Shared, t: Totals{Spam: 5, Ham: 6}}}},
	{8, []entry{{0x3333333333333333, pack(Counts{Ham: 0xffffffff})}},
		[]nsEntry{{ns: 0x0123456789abcdef, t: Totals{Spam: 9, Ham: 10}, name: "user:bob"}}},
}

// TestJournal_golden reads a journal checked in byte for byte and
// compares every field at its documented offset (journal.go), then
// replays it. A reordered or resized field fails here, where a round
// trip through encodeRecord and decodePayload would pass.
func TestJournal_golden(t *testing.T) {
	const path = "testdata/journal.golden"
	if *updateGolden {
		b := make([]byte, journalHeaderSize)
		copy(b, journalMagic)
		binary.LittleEndian.PutUint32(b[8:], journalVersion)
		for _, r := range goldenRecords {
			b = encodeRecord(b, r.seq, r.es, r.nss)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	u32 := func(off int) uint64 { return uint64(le.Uint32(b[off:])) }
	u64 := func(off int) uint64 { return le.Uint64(b[off:]) }
	crc := func(from, to int) uint64 {
		return uint64(crc32.Checksum(b[from:to], crc32.MakeTable(crc32.Castagnoli)))
	}
	// Record 1 at 16: header 16 bytes, payload 8 + 2*16 + (24+1) = 65.
	// Record 2 at 97: payload 8 + 16 + (24+1+8) = 57; the file ends at 170.
	if len(b) != 170 || string(b[0:8]) != "SLUICEJL" {
		t.Fatalf("golden journal: %d bytes, magic %q", len(b), b[:8])
	}
	for _, c := range []struct {
		name string
		got  uint64
		want uint64
	}{
		{"journal version", u32(8), 1}, {"header zero", u32(12), 0},
		{"r1 length", u32(16), 65}, {"r1 crc", u32(20), crc(24, 97)}, {"r1 seq", u64(24), 7},
		{"r1 nslots", u32(32), 2}, {"r1 nns", u32(36), 1},
		{"r1 key 1", u64(40), 0x1111111111111111}, {"r1 spam 1", u32(48), 1}, {"r1 ham 1", u32(52), 2},
		{"r1 key 2", u64(56), 0x2222222222222222}, {"r1 spam 2", u32(64), 3}, {"r1 ham 2", u32(68), 0},
		{"r1 ns", u64(72), 0}, {"r1 ns spam", u64(80), 5}, {"r1 ns ham", u64(88), 6}, {"r1 name length", uint64(b[96]), 0},
		{"r2 length", u32(97), 57}, {"r2 crc", u32(101), crc(105, 170)}, {"r2 seq", u64(105), 8},
		{"r2 nslots", u32(113), 1}, {"r2 nns", u32(117), 1},
		{"r2 key", u64(121), 0x3333333333333333}, {"r2 spam", u32(129), 0}, {"r2 ham", u32(133), 0xffffffff},
		{"r2 ns", u64(137), 0x0123456789abcdef}, {"r2 ns spam", u64(145), 9}, {"r2 ns ham", u64(153), 10},
		{"r2 name length", uint64(b[161]), 8},
	} {
		if c.got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if string(b[162:170]) != "user:bob" {
		t.Errorf("r2 name: %q", b[162:170])
	}
	// The encoder writes these bytes, and the replay reads them back.
	enc := make([]byte, journalHeaderSize)
	copy(enc, b[:journalHeaderSize])
	for _, r := range goldenRecords {
		enc = encodeRecord(enc, r.seq, r.es, r.nss)
	}
	if !bytes.Equal(enc, b) {
		t.Errorf("encodeRecord no longer writes the golden bytes")
	}
	m, scan, err := replayBytes(b, 6)
	if err != nil || scan.records != 2 || scan.torn != 0 {
		t.Fatalf("replay: %v, %+v", err, scan)
	}
	if m.slots[0x3333333333333333] != pack(Counts{Ham: 0xffffffff}) || m.ns[0x0123456789abcdef] != (Totals{Spam: 9, Ham: 10}) {
		t.Errorf("replayed model: %+v", m)
	}
}
