package mmapstore

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// TestFormat_offsets pins the on-disk layout documented in doc.go. A
// change here is a format change: bump Version.
func TestFormat_offsets(t *testing.T) {
	h := header{version: Version, slotSize: SlotSize, capacity: 1 << 20, nsCapacity: 64, nsRecSize: NSRecordSize,
		maxProbe: 512, generation: 7, created: 0x1122334455667788,
		params: Params{Hash: "xxh64", Seed: 0xdeadbabe, Window: 5, Version: 3}}
	b := make([]byte, HeaderSize)
	h.encodeStatic(b)
	le := binary.LittleEndian
	for _, c := range []struct {
		name      string
		off, size int
		want      uint64
	}{
		{"version", 8, 4, Version}, {"slot size", 12, 4, 16}, {"capacity", 16, 8, 1 << 20},
		{"ns capacity", 24, 8, 64}, {"ns record size", 32, 4, 128}, {"max probe", 36, 4, 512},
		{"generation", 40, 8, 7}, {"created", 48, 8, 0x1122334455667788}, {"seed", 56, 8, 0xdeadbabe},
		{"window", 64, 4, 5}, {"tokenizer version", 68, 4, 3},
		{"checksum", 252, 4, uint64(crc32.Checksum(b[:252], crc32.MakeTable(crc32.Castagnoli)))},
	} {
		var got uint64
		if c.size == 4 {
			got = uint64(le.Uint32(b[c.off:]))
		} else {
			got = le.Uint64(b[c.off:])
		}
		if got != c.want {
			t.Errorf("%s at %d: got %#x, want %#x", c.name, c.off, got, c.want)
		}
	}
	if string(b[0:8]) != "SLUICEST" || string(b[72:77]) != "xxh64" || b[77] != 0 {
		t.Errorf("magic or hash name misplaced: %q", b[:80])
	}
	for name, off := range map[string]int{"used": 256, "ns used": 264, "applied seq": 272, "expired": 280,
		"superseded": 288, "clean": 296, "shared spam": 304, "shared ham": 312, "totals checksum": 320} {
		if off%8 != 0 || off < hdrStaticEnd || off >= HeaderSize {
			t.Errorf("%s at %d: not an aligned dynamic word", name, off)
		}
	}
	if offUsed != 256 || offNSUsed != 264 || offAppliedSeq != 272 || offExpired != 280 || offSuperseded != 288 ||
		offClean != 296 || offSharedSpam != 304 || offSharedHam != 312 || offTotalsSum != 320 || Version != 2 {
		t.Error("dynamic header offsets moved")
	}
	if nsKey != 0 || nsSpam != 8 || nsHam != 16 || nsNameLen != 24 || nsName != 32 || MaxNameLen != 96 {
		t.Error("namespace record offsets moved")
	}
	// Slot: key at +0, spam at +8, ham at +12.
	if v := pack(Counts{Spam: 0x11111111, Ham: 0x22222222}); v != 0x2222222211111111 {
		t.Errorf("pack: %#x", v)
	}
	if fileSize(1024, 64) != 4096+1024*16+64*128 {
		t.Error("fileSize")
	}
	// The key mixer is part of the format too.
	if k := mixKey(0x0123456789abcdef, Shared); k != 0x87cbfbfe89022cea {
		t.Errorf("mixKey changed: %#x", k)
	}
	if ns := NamespaceOf("user:alice@example.org"); ns != 0xbe1b8361ade427ea {
		t.Errorf("NamespaceOf changed: %#x", ns)
	}
}
