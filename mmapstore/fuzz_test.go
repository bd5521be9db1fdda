package mmapstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// The fuzz targets here run the parsers of the open path on bytes in
// memory: no file, lock or fsync per input, so they get through tens of
// thousands of inputs a second where FuzzOpen gets through hundreds. Each
// asserts a property, not only the absence of panics, and each is seeded
// with files the Writer wrote.

// writerFiles are statfiles and journals written by the Writer.
type writerFiles struct {
	small, dense []byte // closed, clean statfiles
	crashed      []byte // statfile of a writer that never checkpointed (applied seq 0)
	journal      []byte // its journal: records 1..journalRecords
	// afterCkpt is the journal after a checkpoint at seq ckpt: records
	// ckpt+1 onwards.
	afterCkpt []byte
	ckpt      uint64
}

const journalRecords = 6

// makeWriterFiles writes the files in a temporary directory of tb.
func makeWriterFiles(tb testing.TB) writerFiles {
	tb.Helper()
	var wf writerFiles
	dir := tb.TempDir()
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	closeW := func(w *Writer) {
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	user := NamespaceOf("user:x")

	path := filepath.Join(dir, "small.db")
	w, err := OpenWriter(path, testOptions())
	if err != nil {
		tb.Fatal(err)
	}
	mustApply(tb, w, Op{Class: Spam, Delta: 1, Hashes: []uint64{1, 2, 3}},
		Op{NS: user, Name: "user:x", Class: Ham, Delta: 1, Hashes: []uint64{4}})
	closeW(w)
	wf.small = read(path)

	// Dense: clusters of neighbouring keys, a slot unlearned to 0/0, and
	// namespaces with and without names.
	path = filepath.Join(dir, "dense.db")
	if w, err = OpenWriter(path, testOptions()); err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	mustApply(tb, w, Op{Class: Spam, Delta: 1, Hashes: randHashes(r, 700)})
	mustApply(tb, w, Op{Class: Ham, Delta: 1, Hashes: []uint64{7}})
	mustApply(tb, w, Op{Class: Ham, Delta: -1, Hashes: []uint64{7}})
	for i := range 12 {
		ns, name := NamespaceOf(fmt.Sprint("user:", i)), fmt.Sprint("user:", i)
		if i%3 == 0 {
			name = ""
		}
		mustApply(tb, w, Op{NS: ns, Name: name, Class: Spam, Delta: 1, Hashes: []uint64{uint64(i)}})
	}
	closeW(w)
	wf.dense = read(path)

	// A crash: the files as they are while the writer is open, before any
	// checkpoint. Then a checkpoint and more records.
	path = filepath.Join(dir, "crashed.db")
	o := testOptions()
	o.CheckpointBytes = -1
	if w, err = OpenWriter(path, o); err != nil {
		tb.Fatal(err)
	}
	ops := []Op{
		{Class: Spam, Delta: 1, Hashes: []uint64{1, 2, 3}},
		{Class: Ham, Delta: 1, Hashes: []uint64{3, 4}},
		{NS: user, Name: "user:x", Class: Spam, Delta: 1, Hashes: []uint64{1, 5}},
		{Class: Spam, Delta: -1, Hashes: []uint64{2}},
		{NS: NamespaceOf(strings.Repeat("n", 120)), Name: strings.Repeat("n", 120), Class: Ham, Delta: 1, Hashes: []uint64{9}},
		{NS: user, Class: Ham, Delta: 1, Hashes: randHashes(r, 20)},
	}
	for _, op := range ops {
		mustApply(tb, w, op)
	}
	wf.crashed = read(path)
	wf.journal = read(path + ".journal")
	if err := w.Checkpoint(); err != nil {
		tb.Fatal(err)
	}
	wf.ckpt = journalRecords
	for _, op := range ops[:3] {
		mustApply(tb, w, op)
	}
	wf.afterCkpt = read(path + ".journal")
	closeW(w)
	return wf
}

// --- FuzzHeader ---

// headerErrors are the errors decodeHeader may return; callers tell them
// apart with errors.Is, so no other error may escape.
var headerErrors = []error{ErrTruncated, ErrNotStatfile, ErrVersion, ErrChecksum, ErrGeometry}

func isHeaderSentinel(err error) bool {
	return slices.ContainsFunc(headerErrors, func(s error) bool { return errors.Is(err, s) })
}

// canonicalHeader returns the static header of b as encodeStatic writes
// it: reserved bytes zero, the hash name zero after its first NUL, and the
// CRC over that. The checksum covers these bytes, so only a foreign writer
// could make them otherwise; the decoder ignores them.
func canonicalHeader(b []byte) []byte {
	c := make([]byte, hdrStaticEnd)
	copy(c, b[:offChecksum])
	clear(c[offHashName+hashNameSz : offChecksum])
	if i := bytes.IndexByte(c[offHashName:offHashName+hashNameSz], 0); i >= 0 {
		clear(c[offHashName+i : offHashName+hashNameSz])
	}
	binary.LittleEndian.PutUint32(c[offChecksum:], crc32.Checksum(c[:offChecksum], castagnoli))
	return c
}

// FuzzHeader decodes any header against a file size near the one it
// declares. Properties: errors are the documented sentinels; the verdict
// does not depend on the size except for the size check itself; an
// accepted header has the geometry newMapping relies on and re-encodes to
// its canonical bytes, which decode to the same header.
//
// fixCRC stamps a valid checksum over the mutated bytes first: without it
// almost every mutation stops at the checksum and the geometry checks
// behind it are never reached.
func FuzzHeader(f *testing.F) {
	wf := makeWriterFiles(f)
	for _, b := range [][]byte{wf.small, wf.dense, wf.crashed} {
		f.Add(b[:hdrDynamicEnd], int64(0), false)
		f.Add(b[:hdrDynamicEnd], int64(-SlotSize), true)
		f.Add(b[:HeaderSize], int64(1), false)
	}
	// Geometry at its limits, and just past them.
	for _, h := range []header{
		{capacity: maxSlots, nsCapacity: maxNSSlots, maxProbe: 1},
		{capacity: minSlots, nsCapacity: minNSSlots, maxProbe: minSlots},
		{capacity: minSlots, nsCapacity: minNSSlots, maxProbe: minSlots + 1},
		{capacity: minSlots / 2, nsCapacity: minNSSlots, maxProbe: 1},
		{capacity: minSlots*2 + 1, nsCapacity: minNSSlots, maxProbe: 1},
		{capacity: minSlots, nsCapacity: minNSSlots / 2, maxProbe: 1},
	} {
		h.version, h.slotSize, h.nsRecSize, h.params = Version, SlotSize, NSRecordSize, testParams
		b := make([]byte, hdrStaticEnd)
		h.encodeStatic(b)
		f.Add(b, int64(0), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, delta int64, fixCRC bool) {
		// The fields are in the first 256 bytes; pad short inputs to a
		// page so the fuzzer can work on those alone.
		b := make([]byte, max(len(in), HeaderSize))
		copy(b, in)
		if fixCRC {
			binary.LittleEndian.PutUint32(b[offChecksum:], crc32.Checksum(b[:offChecksum], castagnoli))
		}
		exact := declaredSize(b)
		size := exact + delta
		h, err := decodeHeader(b, size)

		if err != nil && !isHeaderSentinel(err) {
			t.Fatalf("decodeHeader: undocumented error %v", err)
		}
		if _, err := decodeHeader(b[:HeaderSize-1], size); !errors.Is(err, ErrTruncated) {
			t.Fatalf("header shorter than a page: %v, want ErrTruncated", err)
		}
		if _, err := decodeHeader(b, HeaderSize-1); !errors.Is(err, ErrTruncated) {
			t.Fatalf("file shorter than a page: %v, want ErrTruncated", err)
		}
		hExact, errExact := decodeHeader(b, exact)
		switch {
		case size < HeaderSize:
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("size %d: %v, want ErrTruncated", size, err)
			}
		case errExact != nil:
			// Not a size problem: any size gets the same verdict.
			if err == nil || err.Error() != errExact.Error() {
				t.Fatalf("size %d: %v, but at the declared size %d: %v", size, err, exact, errExact)
			}
		case delta == 0:
			if err != nil || h != hExact {
				t.Fatalf("declared size: %v", err)
			}
		case delta < 0:
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%d bytes short: %v, want ErrTruncated", -delta, err)
			}
		default:
			if !errors.Is(err, ErrGeometry) {
				t.Fatalf("%d bytes too long: %v, want ErrGeometry", delta, err)
			}
		}
		if errExact == nil {
			checkAcceptedHeader(t, b, exact, hExact)
		}
	})
}

// declaredSize is the file size the raw header b declares, or HeaderSize
// when its capacities are out of range (fileSize would overflow; the
// header is refused for them anyway).
func declaredSize(b []byte) int64 {
	c := binary.LittleEndian.Uint64(b[offCapacity:])
	n := binary.LittleEndian.Uint64(b[offNSCapacity:])
	if c > maxSlots || n > maxNSSlots {
		return HeaderSize
	}
	return fileSize(c, n)
}

// checkAcceptedHeader asserts what an accepted header guarantees.
func checkAcceptedHeader(t *testing.T, b []byte, size int64, h header) {
	t.Helper()
	pow2 := func(v uint64) bool { return v != 0 && v&(v-1) == 0 }
	switch {
	case string(b[:len(Magic)]) != Magic || h.version < minVersion || h.version > Version:
		t.Fatalf("accepted magic %q version %d", b[:len(Magic)], h.version)
	case h.slotSize != SlotSize || h.nsRecSize != NSRecordSize:
		t.Fatalf("accepted slot size %d, record size %d", h.slotSize, h.nsRecSize)
	case !pow2(h.capacity) || h.capacity < minSlots || h.capacity > maxSlots:
		t.Fatalf("accepted capacity %d", h.capacity)
	case !pow2(h.nsCapacity) || h.nsCapacity < minNSSlots || h.nsCapacity > maxNSSlots:
		t.Fatalf("accepted namespace capacity %d", h.nsCapacity)
	case h.maxProbe < 1 || uint64(h.maxProbe) > h.capacity:
		t.Fatalf("accepted probe bound %d for %d slots", h.maxProbe, h.capacity)
	case size != fileSize(h.capacity, h.nsCapacity):
		t.Fatalf("accepted size %d for %d slots and %d records", size, h.capacity, h.nsCapacity)
	case len(h.params.Hash) > hashNameSz || strings.IndexByte(h.params.Hash, 0) >= 0:
		t.Fatalf("accepted hash name %q", h.params.Hash)
	}
	re := make([]byte, HeaderSize)
	h2 := h
	h2.encodeStatic(re)
	if want := canonicalHeader(b); !bytes.Equal(re[:hdrStaticEnd], want) {
		t.Fatalf("re-encoded header differs from the canonical input:\n got %x\nwant %x", re[:hdrStaticEnd], want)
	}
	h3, err := decodeHeader(re, size)
	if err != nil {
		t.Fatalf("re-encoded header refused: %v", err)
	}
	if h3 != h2 {
		t.Fatalf("round trip: %+v, want %+v", h3, h2)
	}
}

// --- FuzzJournal ---

// refRecord is one record as refScan finds it.
type refRecord struct {
	off int // of the record header in the journal
	n   int // payload length
	seq uint64
}

// refJournal is what refScan makes of a journal.
type refJournal struct {
	records []refRecord
	end     int    // after the last good record
	err     string // "header", "sequence", "corrupt" (a bad record before a good one) or "" (a torn tail is not an error)
}

// refScan is a second, deliberately plain reading of the journal format
// (journal.go) over a byte slice: the oracle scanJournal is compared with.
func refScan(b []byte) refJournal {
	var j refJournal
	le := binary.LittleEndian
	if len(b) == 0 {
		return j
	}
	if len(b) < journalHeaderSize || string(b[:8]) != journalMagic || le.Uint32(b[8:]) != journalVersion {
		j.err = "header"
		return j
	}
	// good reports whether a record with a valid CRC, a length that fits
	// and a sequence above the last good one (never 0) starts at o.
	good := func(o int) bool {
		if len(b)-o < recordHeaderSize {
			return false
		}
		n := uint64(le.Uint32(b[o:]))
		seq := le.Uint64(b[o+8:])
		if n > maxRecordSize || n > uint64(len(b)-o-recordHeaderSize) || seq == 0 ||
			(len(j.records) > 0 && seq <= j.records[len(j.records)-1].seq) {
			return false
		}
		rec := b[o : o+recordHeaderSize+int(n)]
		return crc32.Checksum(rec[8:], castagnoli) == le.Uint32(rec[4:])
	}
	off := journalHeaderSize
	for off < len(b) {
		n := uint64(0)
		ok := len(b)-off >= recordHeaderSize
		if ok {
			n = uint64(le.Uint32(b[off:]))
			ok = n <= maxRecordSize && n <= uint64(len(b)-off-recordHeaderSize)
		}
		if ok {
			rec := b[off : off+recordHeaderSize+int(n)]
			ok = crc32.Checksum(rec[8:], castagnoli) == le.Uint32(rec[4:])
		}
		if !ok {
			// A torn tail, unless a good record follows somewhere.
			for o := off + 1; o < len(b); o++ {
				if good(o) {
					j.err = "corrupt"
					j.end = off
					return j
				}
			}
			break
		}
		rec := b[off : off+recordHeaderSize+int(n)]
		seq := le.Uint64(rec[8:])
		if k := len(j.records); k > 0 && seq != j.records[k-1].seq+1 {
			j.err = "sequence"
			j.end = off
			return j
		}
		j.records = append(j.records, refRecord{off: off, n: int(n), seq: seq})
		off += len(rec)
	}
	j.end = off
	return j
}

// restampCRCs returns a copy of b in which record i gets a valid CRC when
// bit i of mask is set, so the fuzzer reaches the payload decoder and the
// sequence checks with payloads of its own; it cannot forge a CRC32C.
func restampCRCs(b []byte, mask uint64) []byte {
	b = bytes.Clone(b)
	le := binary.LittleEndian
	off := journalHeaderSize
	for i := 0; mask != 0 && len(b)-off >= recordHeaderSize; i++ {
		n := uint64(le.Uint32(b[off:]))
		if n > uint64(len(b)-off-recordHeaderSize) {
			break
		}
		rec := b[off : off+recordHeaderSize+int(n)]
		if i < 64 && mask&(1<<i) != 0 {
			le.PutUint32(rec[4:], crc32.Checksum(rec[8:], castagnoli))
		}
		off += len(rec)
	}
	return b
}

// journalModel is the state a replay sets: absolute values per key and
// per namespace, as the statfile would hold them.
type journalModel struct {
	slots map[uint64]uint64
	ns    map[Namespace]Totals
	seqs  []uint64 // applied, in order
}

func newJournalModel() *journalModel {
	return &journalModel{slots: map[uint64]uint64{}, ns: map[Namespace]Totals{}}
}

func (m *journalModel) apply(seq uint64, es []entry, nss []nsEntry) error {
	for _, e := range es {
		m.slots[e.key] = e.val
	}
	for _, n := range nss {
		m.ns[n.ns] = n.t
	}
	m.seqs = append(m.seqs, seq)
	return nil
}

func (m *journalModel) equal(o *journalModel) bool {
	return maps.Equal(m.slots, o.slots) && maps.Equal(m.ns, o.ns) && slices.Equal(m.seqs, o.seqs)
}

// replayBytes replays journal b over a fresh model.
func replayBytes(b []byte, applied uint64) (*journalModel, journalScan, error) {
	m := newJournalModel()
	scan, err := replayJournal(bytes.NewReader(b), int64(len(b)), applied, m.apply)
	return m, scan, err
}

// FuzzJournal replays arbitrary journals into an in-memory model and
// compares with refScan. Properties: the records scanned, the valid end
// and the error agree with the reference reading; every record applied is
// one the reference found whole with a valid CRC, newer than applied and
// in sequence, and re-encodes to its exact bytes (and so does any bare
// payload the decoder accepts); cutting the journal
// after its valid end, or inside its last record, replays exactly the
// prefix; and a journal Check accepts, the writer replays.
func FuzzJournal(f *testing.F) {
	wf := makeWriterFiles(f)
	j, a := wf.journal, wf.afterCkpt
	garbage := bytes.Repeat([]byte{0xa5}, 40)
	for _, s := range []struct {
		b       []byte
		applied uint64
	}{
		{j, 0}, {j, 3}, {j, journalRecords}, {j, 100},
		{a, wf.ckpt}, {a, wf.ckpt - 2}, {a, 0},
		{append(bytes.Clone(j), garbage...), 0},
		{j[:len(j)-7], 0},
		{append(bytes.Clone(j[:len(j)-7]), a[journalHeaderSize:]...), 0},
		{j[:journalHeaderSize], 0}, {nil, 0}, {j[:9], 0},
	} {
		f.Add(s.b, s.applied, uint64(0))
	}
	// Records with payloads of the fuzzer's own and valid CRCs.
	f.Add(append(bytes.Clone(j), garbage...), uint64(0), ^uint64(0))
	f.Add(flipByte(j, journalHeaderSize+recordHeaderSize+2), uint64(0), ^uint64(0))
	// Bare payloads, for checkPayload.
	for _, r := range refScan(j).records {
		f.Add(bytes.Clone(j[r.off+recordHeaderSize:r.off+recordHeaderSize+r.n]), uint64(0), uint64(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, applied, restamp uint64) {
		checkPayload(t, in)
		b := restampCRCs(in, restamp)
		ref := refScan(b)
		m, scan, err := replayBytes(b, applied)

		want, wantErr := expectReplay(t, b, ref, applied)
		if !m.equal(want) {
			t.Fatalf("replay applied seqs %v (%d keys, %d namespaces), want seqs %v (%d keys, %d namespaces)",
				m.seqs, len(m.slots), len(m.ns), want.seqs, len(want.slots), len(want.ns))
		}
		if (err != nil) != (wantErr != "") {
			t.Fatalf("replay: error %v, want %q", err, wantErr)
		}
		if err != nil && !errors.Is(err, ErrJournalCorrupt) {
			t.Fatalf("replay: %v does not match ErrJournalCorrupt", err)
		}
		// Stat's scan (no callback) sees what the reference sees.
		plain, perr := scanJournal(bytes.NewReader(b), int64(len(b)), false, nil)
		if (perr != nil) != (ref.err != "") {
			t.Fatalf("scan: error %v, reference %q", perr, ref.err)
		}
		if perr == nil {
			checkScan(t, plain, ref, len(b))
		}
		if err == nil {
			checkScan(t, scan, ref, len(b))
			checkPrefixes(t, b, applied, ref, m)
		}
		if _, verr := validateJournal(bytes.NewReader(b), int64(len(b)), applied); verr == nil && err != nil {
			t.Fatalf("Check accepts the journal, replay refuses it: %v", err)
		}
	})
}

// checkPayload decodes in as a bare record payload: whatever decodePayload
// accepts must re-encode to the same bytes. Inside a journal the fuzzer
// can hardly reach such cases: changing a length in a payload means
// changing the record's length with it.
func checkPayload(t *testing.T, in []byte) {
	t.Helper()
	es, nss, err := decodePayload(in)
	if err != nil {
		if !errors.Is(err, ErrJournalCorrupt) {
			t.Fatalf("decodePayload: %v does not match ErrJournalCorrupt", err)
		}
		return
	}
	if re := encodeRecord(nil, 0, es, nss)[recordHeaderSize:]; !bytes.Equal(re, in) {
		t.Fatalf("payload re-encodes differently:\n got %x\nwant %x", re, in)
	}
}

func flipByte(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 0xff
	return b
}

// expectReplay returns the model a replay of b over applied must leave,
// from the records of the reference reading and the rules in
// replayJournal, and the error it must end with: "" or what it is about.
// Each record it applies must re-encode to its exact bytes: the decoder
// lost nothing, and the record's CRC (part of the encoding) is valid,
// whatever the scanner under test thought of it.
func expectReplay(t *testing.T, b []byte, ref refJournal, applied uint64) (*journalModel, string) {
	t.Helper()
	m := newJournalModel()
	for _, r := range ref.records {
		if r.seq <= applied {
			continue
		}
		if r.seq != applied+1 {
			return m, "jump"
		}
		raw := b[r.off : r.off+recordHeaderSize+r.n]
		es, nss, err := decodePayload(raw[recordHeaderSize:])
		if err != nil {
			return m, "payload"
		}
		if re := encodeRecord(nil, r.seq, es, nss); !bytes.Equal(re, raw) {
			t.Fatalf("seq %d re-encodes differently:\n got %x\nwant %x", r.seq, re, raw)
		}
		m.apply(r.seq, es, nss)
		applied = r.seq
	}
	return m, ref.err
}

// checkScan compares a successful scan with the reference reading.
func checkScan(t *testing.T, s journalScan, ref refJournal, size int) {
	t.Helper()
	var first, last uint64
	if k := len(ref.records); k > 0 {
		first, last = ref.records[0].seq, ref.records[k-1].seq
	}
	end := int64(ref.end)
	if s.records != len(ref.records) || s.firstSeq != first || s.lastSeq != last || s.validEnd != end || s.torn != int64(size)-end {
		t.Fatalf("scan %+v, reference: %d records, seqs %d..%d, valid end %d of %d", s, len(ref.records), first, last, end, size)
	}
}

// checkPrefixes replays b cut at its valid end (the same, with no torn
// tail) and inside its last record (the same minus that record).
func checkPrefixes(t *testing.T, b []byte, applied uint64, ref refJournal, full *journalModel) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	m, scan, err := replayBytes(b[:ref.end], applied)
	if err != nil || scan.torn != 0 || !m.equal(full) {
		t.Fatalf("journal cut at its valid end %d: %v, torn %d, model differs: %v", ref.end, err, scan.torn, !m.equal(full))
	}
	k := len(ref.records)
	if k == 0 {
		return
	}
	lastRec := ref.records[k-1]
	cut := b[:ref.end-1]
	m, scan, err = replayBytes(cut, applied)
	// A cut record whose own bytes hold a whole good record with a later
	// sequence cannot be told from a bad record in the middle followed by
	// a good one (the fuzzer writes such payloads; the writer's token
	// hashes and counts do not): the scanner then refuses, which loses
	// nothing silently, and fsck --repair decides.
	var prevSeq uint64
	if k > 1 {
		prevSeq = ref.records[k-2].seq
	}
	if _, _, found, rerr := resyncJournal(bytes.NewReader(cut), int64(lastRec.off), int64(len(cut)), prevSeq, k > 1); rerr == nil && found {
		if !errors.Is(err, ErrJournalCorrupt) {
			t.Fatalf("journal cut inside a last record that holds a good record: %v, want ErrJournalCorrupt", err)
		}
		return
	}
	wantSeqs := full.seqs
	if n := len(wantSeqs); n > 0 && wantSeqs[n-1] == lastRec.seq {
		wantSeqs = wantSeqs[:n-1]
	}
	if err != nil || scan.records != k-1 || scan.torn != int64(recordHeaderSize+lastRec.n-1) || !slices.Equal(m.seqs, wantSeqs) {
		t.Fatalf("journal cut inside its last record: %v, scan %+v, applied %v, want %v", err, scan, m.seqs, wantSeqs)
	}
}

// --- FuzzCheck ---

// The image FuzzCheck builds: a statfile of the smallest geometry in
// memory, described sparsely so that mutations make the cases Check looks
// for (keys far from home, holes on a probe path, duplicates, counts in
// empty slots, a crowded directory) rather than noise:
//
//	[0:2]   u16 probe bound, 1 + v%capacity
//	[2]     clean flag, v&3 (2 and 3 are invalid)
//	[3]     superseded flag, v&3
//	[4:6]   u16 used counter
//	[6]     u8 namespace counter
//	then chunks of imgChunk bytes, each a slot or a namespace record:
//	[0]     kind: even a slot, odd a namespace record
//	[1:3]   u16 distance from the home slot (record) where it is put
//	[3:11]  u64 key or namespace id (a slot key 0 writes counts to an empty slot)
//	[11:19] u64 packed counts, or the spam total (ham is its complement)
//	[19]    u8 name length of a namespace record
const (
	imgHeader = 7
	imgChunk  = 20
)

// newImage returns a mapping over a zeroed in-memory statfile of the
// given header. The words backing it keep it 8-byte aligned, as a mapping
// is.
func newImage(tb testing.TB, h header) *mapping {
	tb.Helper()
	size := fileSize(h.capacity, h.nsCapacity)
	words := make([]uint64, size/8)
	data := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), size)
	h.encodeStatic(data)
	h, err := decodeHeader(data, size)
	if err != nil {
		tb.Fatalf("image header: %v", err)
	}
	return newMapping(data, h)
}

// buildImage turns a FuzzCheck input into an image.
func buildImage(tb testing.TB, in []byte) *mapping {
	tb.Helper()
	var hd [imgHeader]byte
	copy(hd[:], in)
	le := binary.LittleEndian
	h := header{version: Version, slotSize: SlotSize, capacity: minSlots, nsCapacity: minNSSlots,
		nsRecSize: NSRecordSize, generation: 1, params: testParams}
	h.maxProbe = uint32(1 + uint64(le.Uint16(hd[0:]))%h.capacity)
	m := newImage(tb, h)
	m.store(wClean, uint64(hd[2]&3))
	m.store(wSuperseded, uint64(hd[3]&3))
	m.store(wUsed, uint64(le.Uint16(hd[4:])))
	m.store(wNSUsed, uint64(hd[6]))
	for c := in[min(len(in), imgHeader):]; len(c) >= imgChunk; c = c[imgChunk:] {
		dist, key, val := uint64(le.Uint16(c[1:])), le.Uint64(c[3:]), le.Uint64(c[11:])
		if c[0]&1 == 0 {
			i := ((key >> m.shift) + dist) & m.mask
			m.slots[2*i], m.slots[2*i+1] = key, val
			continue
		}
		i := (nsHome(Namespace(key), m.hdr.nsCapacity) + dist) & m.nsMask
		r := m.nsdir[i*nsWords : (i+1)*nsWords]
		r[nsKey/8], r[nsSpam/8], r[nsHam/8], r[nsNameLen/8] = key, val, ^val, uint64(c[19])
	}
	return m
}

// encodeImage is the FuzzCheck input of a mapped statfile of the smallest
// geometry (the seeds are files the Writer made), with its first maxSlots
// occupied slots and its namespace records. Seeds are kept to a few KB:
// the fuzzer's minimizer is quadratic in the input length.
func encodeImage(tb testing.TB, m *mapping, maxSlots int) []byte {
	tb.Helper()
	if m.hdr.capacity != minSlots || m.hdr.nsCapacity != minNSSlots {
		tb.Fatalf("image seed of capacity %d/%d", m.hdr.capacity, m.hdr.nsCapacity)
	}
	le := binary.LittleEndian
	b := le.AppendUint16(nil, uint16(m.hdr.maxProbe-1))
	b = append(b, byte(m.load(wClean)), byte(m.load(wSuperseded)))
	b = le.AppendUint16(b, uint16(m.load(wUsed)))
	b = append(b, byte(m.load(wNSUsed)))
	for i := range m.hdr.capacity {
		if k := m.slots[2*i]; k != 0 && maxSlots > 0 {
			maxSlots--
			b = append(b, 0)
			b = le.AppendUint16(b, uint16((i-(k>>m.shift))&m.mask))
			b = le.AppendUint64(b, k)
			b = le.AppendUint64(b, m.slots[2*i+1])
			b = append(b, 0)
		}
	}
	for i := range m.hdr.nsCapacity {
		r := m.nsdir[i*nsWords : (i+1)*nsWords]
		if ns := r[nsKey/8]; ns != 0 {
			b = append(b, 1)
			b = le.AppendUint16(b, uint16((i-nsHome(Namespace(ns), m.hdr.nsCapacity))&m.nsMask))
			b = le.AppendUint64(b, ns)
			b = le.AppendUint64(b, r[nsSpam/8])
			b = append(b, byte(r[nsNameLen/8]))
		}
	}
	return b
}

// mappingOf maps a statfile's bytes in memory.
func mappingOf(tb testing.TB, b []byte) *mapping {
	tb.Helper()
	words := make([]uint64, (len(b)+7)/8)
	data := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(b))
	copy(data, b)
	h, err := decodeHeader(data, int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	return newMapping(data, h)
}

// FuzzCheck runs Check's table and directory checks on in-memory images
// and compares them with what lookups see. Property: Check reports a slot
// exactly when the lookup of its key does not end at it (find: the probe
// path from the home slot within the bound, stopping at an empty slot or
// at the first copy of the key) or it is empty with counts; a namespace
// record exactly when nsFind does not end at it or its name length is
// impossible; and the header counters and flags by the rules of invariant
// 6. So a file Check passes answers every lookup with what it holds.
func FuzzCheck(f *testing.F) {
	wf := makeWriterFiles(f)
	for _, b := range [][]byte{wf.small, wf.dense, wf.crashed} {
		img := encodeImage(f, mappingOf(f, b), 150)
		f.Add(img)
		f.Add(append([]byte{3, 0, 1}, img[3:]...)) // probe bound 4: keys past it
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		m := buildImage(t, in)
		var got []string
		checkMapping(m, func(format string, args ...any) {
			got = append(got, problemKey(t, fmt.Sprintf(format, args...)))
		})
		want := expectProblems(m)
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, want) {
			t.Fatalf("Check found %v, lookups say %v", got, want)
		}
	})
}

// problemKey reduces one of Check's problems to what it is about: "slot
// N", "namespace record N", or its text up to the first number.
func problemKey(t *testing.T, p string) string {
	t.Helper()
	var i int
	for _, prefix := range []string{"slot", "namespace record"} {
		if _, err := fmt.Sscanf(p, prefix+" %d:", &i); err == nil {
			return fmt.Sprintf("%s %d", prefix, i)
		}
	}
	for _, k := range []string{"header: used", "header: namespace count", "header: clean flag",
		"header: superseded flag", "header: totals checksum", "namespace directory:"} {
		if strings.HasPrefix(p, k) {
			return k
		}
	}
	t.Fatalf("unknown problem %q", p)
	return ""
}

// expectProblems derives the problems Check must report from the lookup
// functions, in problemKey's terms, sorted.
func expectProblems(m *mapping) []string {
	var want []string
	var used, nsUsed uint64
	for i := range m.hdr.capacity {
		k, v := m.slots[2*i], m.slots[2*i+1]
		if k == 0 {
			if v != 0 {
				want = append(want, fmt.Sprintf("slot %d", i))
			}
			continue
		}
		used++
		if idx, found, ok := m.find(k); !ok || !found || idx != i {
			want = append(want, fmt.Sprintf("slot %d", i))
		}
	}
	for i := range m.hdr.nsCapacity {
		r := m.nsdir[i*nsWords : (i+1)*nsWords]
		ns := r[nsKey/8]
		if ns == 0 {
			continue
		}
		nsUsed++
		if idx, found := m.nsFind(Namespace(ns)); !found || idx != i || r[nsNameLen/8] > MaxNameLen {
			want = append(want, fmt.Sprintf("namespace record %d", i))
		}
	}
	clean := m.load(wClean)
	if (clean == 1 && m.load(wUsed) != used) || m.load(wUsed) > m.hdr.capacity {
		want = append(want, "header: used")
	}
	if (clean == 1 && m.load(wNSUsed) != nsUsed) || m.load(wNSUsed) > m.hdr.nsCapacity {
		want = append(want, "header: namespace count")
	}
	if m.hdr.version >= 2 && m.load(wTotalsSum) > 0xffffffff {
		want = append(want, "header: totals checksum")
	}
	if clean > 1 {
		want = append(want, "header: clean flag")
	}
	if m.load(wSuperseded) > 1 {
		want = append(want, "header: superseded flag")
	}
	if nsUsed > m.hdr.nsCapacity/2+1 {
		want = append(want, "namespace directory:")
	}
	slices.Sort(want)
	return want
}
