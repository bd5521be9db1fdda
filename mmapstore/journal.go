package mmapstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// Journal format (all little-endian):
//
//	header  [0,16)   "SLUICEJL", u32 version (1), u32 zero
//	record  u32 payload length, u32 CRC32C of (seq, payload), u64 seq, payload
//	payload u32 nslots, u32 nns,
//	        nslots × (u64 key, u64 packed counts),
//	        nns × (u64 namespace, u64 spam total, u64 ham total, u8 name length, name)
//
// Every value in a record is absolute (the state after the update), so
// replaying a record twice is harmless and replay is a plain "set".
const (
	journalMagic      = "SLUICEJL"
	journalVersion    = 1
	journalHeaderSize = 16
	recordHeaderSize  = 16
	maxRecordSize     = 1 << 30
	slotEntrySize     = 16
)

// entry is one slot update in a journal record.
type entry struct{ key, val uint64 }

// nsEntry is one namespace totals update in a journal record.
type nsEntry struct {
	ns   Namespace
	t    Totals
	name string
}

// journal is the append-only redo log next to the statfile.
type journal struct {
	f    *os.File
	path string
	size int64
}

// encodeRecord appends a record for seq to buf.
func encodeRecord(buf []byte, seq uint64, es []entry, ns []nsEntry) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, recordHeaderSize)...)
	le := binary.LittleEndian
	buf = le.AppendUint32(buf, uint32(len(es)))
	buf = le.AppendUint32(buf, uint32(len(ns)))
	for _, e := range es {
		buf = le.AppendUint64(buf, e.key)
		buf = le.AppendUint64(buf, e.val)
	}
	for _, n := range ns {
		buf = le.AppendUint64(buf, uint64(n.ns))
		buf = le.AppendUint64(buf, n.t.Spam)
		buf = le.AppendUint64(buf, n.t.Ham)
		name := n.name
		if len(name) > MaxNameLen {
			name = name[:MaxNameLen]
		}
		buf = append(buf, byte(len(name)))
		buf = append(buf, name...)
	}
	h := buf[start:]
	le.PutUint32(h[0:], uint32(len(h)-recordHeaderSize))
	le.PutUint64(h[8:], seq)
	le.PutUint32(h[4:], crc32.Checksum(h[8:], castagnoli))
	return buf
}

// decodePayload parses a record payload.
func decodePayload(p []byte) ([]entry, []nsEntry, error) {
	bad := fmt.Errorf("%w: malformed record payload", ErrJournalCorrupt)
	if len(p) < 8 {
		return nil, nil, bad
	}
	le := binary.LittleEndian
	n, nn := uint64(le.Uint32(p)), uint64(le.Uint32(p[4:]))
	p = p[8:]
	if n*slotEntrySize > uint64(len(p)) || nn*25 > uint64(len(p)) {
		return nil, nil, bad
	}
	es := make([]entry, n)
	for i := range es {
		es[i] = entry{le.Uint64(p), le.Uint64(p[8:])}
		if es[i].key == 0 {
			return nil, nil, bad
		}
		p = p[slotEntrySize:]
	}
	ns := make([]nsEntry, nn)
	for i := range ns {
		if len(p) < 25 {
			return nil, nil, bad
		}
		ns[i] = nsEntry{ns: Namespace(le.Uint64(p)), t: Totals{le.Uint64(p[8:]), le.Uint64(p[16:])}}
		l := int(p[24])
		p = p[25:]
		if l > len(p) || l > MaxNameLen {
			return nil, nil, bad
		}
		ns[i].name = string(p[:l])
		p = p[l:]
	}
	if len(p) != 0 {
		return nil, nil, bad
	}
	return es, ns, nil
}

// journalScan is the result of reading a journal.
type journalScan struct {
	firstSeq, lastSeq uint64 // 0 when there are no records
	records           int
	validEnd          int64         // offset after the last good record
	torn              int64         // bytes after validEnd (a torn or garbage tail)
	dropped           []JournalDrop // repair scans only: bad stretches skipped
}

// JournalDrop is a stretch of a journal that RepairJournal dropped: a
// record that failed its CRC (or its length, or its sequence) with good
// records after it.
type JournalDrop struct {
	Record   int    // 1-based position of the first bad record in the journal
	Offset   int64  // where the bad stretch starts
	Bytes    int64  // its length, up to the next good record
	AfterSeq uint64 // sequence of the good record before it (0: none)
	NextSeq  uint64 // sequence of the good record after it
	Reason   string
}

func (d JournalDrop) String() string {
	return fmt.Sprintf("record %d at offset %d (after seq %d, before seq %d): %s; %d bytes dropped",
		d.Record, d.Offset, d.AfterSeq, d.NextSeq, d.Reason, d.Bytes)
}

// scanJournal reads every record of r (size bytes) and calls fn, if not
// nil, for each good record in order.
//
// A bad record (cut short, an impossible length, a CRC mismatch) is a torn
// tail when no good record follows it: the writer fsyncs every record it
// acknowledges, so a crash can only tear the last one, and the bytes from
// there on are reported in torn. When a good record does follow, the
// journal is corrupt in the middle: dropping the tail would silently drop
// acknowledged learns, so scanJournal returns an ErrJournalCorrupt error
// naming the bad record, unless repair is set, in which case it skips the
// bad stretch (listed in dropped) and goes on. A bad header, or a good
// record whose sequence does not follow the previous one (repair: does not
// exceed it), is an ErrJournalCorrupt error too.
func scanJournal(r io.ReaderAt, size int64, repair bool, fn func(seq uint64, payload []byte) error) (journalScan, error) {
	var s journalScan
	var hdr [journalHeaderSize]byte
	if size < journalHeaderSize {
		if size == 0 {
			return s, nil // an empty file is an empty journal
		}
		return s, fmt.Errorf("%w: header cut short (%d bytes)", ErrJournalCorrupt, size)
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return s, err
	}
	le := binary.LittleEndian
	if string(hdr[:8]) != journalMagic {
		return s, fmt.Errorf("%w: bad magic %q (not a Sluice journal)", ErrJournalCorrupt, hdr[:8])
	}
	if v := le.Uint32(hdr[8:]); v != journalVersion {
		return s, fmt.Errorf("%w: journal version %d, this build reads %d", ErrJournalCorrupt, v, journalVersion)
	}
	s.validEnd = journalHeaderSize
	// A buffer of up to 1 MiB, but no larger than the journal: most are a
	// few records, and Stat and Check scan them on every call.
	bufSize := int(max(min(size, 1<<20), 16))
	br := bufio.NewReaderSize(io.NewSectionReader(r, journalHeaderSize, size-journalHeaderSize), bufSize)
	var payload []byte
	off := int64(journalHeaderSize)
	for off < size {
		bad := ""
		var rh [recordHeaderSize]byte
		var n uint32
		var seq uint64
		if _, err := io.ReadFull(br, rh[:]); err != nil {
			bad = fmt.Sprintf("record header cut short (%d bytes left)", size-off)
		} else if n = le.Uint32(rh[0:]); n > maxRecordSize || int64(n) > size-off-recordHeaderSize {
			bad = fmt.Sprintf("length %d runs past the end of the journal", n)
		} else {
			if cap(payload) < int(n) {
				payload = make([]byte, n)
			}
			payload = payload[:n]
			if _, err := io.ReadFull(br, payload); err != nil {
				return s, fmt.Errorf("read journal at offset %d: %w", off, err)
			}
			seq = le.Uint64(rh[8:])
			crc := crc32.Update(crc32.Checksum(rh[8:], castagnoli), castagnoli, payload)
			switch {
			case crc != le.Uint32(rh[4:]):
				bad = "CRC mismatch"
			case s.records > 0 && seq <= s.lastSeq:
				if !repair {
					return s, fmt.Errorf("%w: record %d at offset %d has seq %d after seq %d", ErrJournalCorrupt, s.records+1, off, seq, s.lastSeq)
				}
				bad = fmt.Sprintf("seq %d after seq %d", seq, s.lastSeq)
			case s.records > 0 && seq != s.lastSeq+1 && !repair:
				return s, fmt.Errorf("%w: record %d at offset %d has seq %d after seq %d", ErrJournalCorrupt, s.records+1, off, seq, s.lastSeq)
			}
		}
		if bad != "" {
			next, nextSeq, found, err := resyncJournal(r, off, size, s.lastSeq, s.records > 0)
			if err != nil {
				return s, fmt.Errorf("read journal after offset %d: %w", off, err)
			}
			if !found {
				break // a torn tail
			}
			d := JournalDrop{Record: s.records + len(s.dropped) + 1, Offset: off, Bytes: next - off,
				AfterSeq: s.lastSeq, NextSeq: nextSeq, Reason: bad}
			if !repair {
				return s, fmt.Errorf("%w: record %d at offset %d (after seq %d) is bad (%s), but a good record (seq %d) follows at offset %d: "+
					"acknowledged learns after it would be lost; `sluice fsck --repair` keeps every good record",
					ErrJournalCorrupt, d.Record, off, s.lastSeq, bad, nextSeq, next)
			}
			s.dropped = append(s.dropped, d)
			off = next
			br.Reset(io.NewSectionReader(r, off, size-off))
			continue
		}
		if s.records == 0 {
			s.firstSeq = seq
		}
		if fn != nil {
			if err := fn(seq, payload); err != nil {
				return s, err
			}
		}
		s.records++
		s.lastSeq = seq
		off += recordHeaderSize + int64(n)
		s.validEnd = off
	}
	s.torn = size - s.validEnd
	return s, nil
}

// resyncJournal looks for the first good record after the bad one at
// from: a record header whose length fits in the file, whose sequence is
// above lastSeq (when haveSeq; never 0) and whose CRC32C matches. It
// reads the tail in 1 MiB windows, so its memory is bounded whatever the
// journal's size.
func resyncJournal(r io.ReaderAt, from, size int64, lastSeq uint64, haveSeq bool) (off int64, seq uint64, found bool, err error) {
	const window = 1 << 20
	le := binary.LittleEndian
	buf := make([]byte, window+recordHeaderSize)
	var payload []byte
	for base := from + 1; base+recordHeaderSize <= size; base += window {
		b := buf[:min(int64(len(buf)), size-base)]
		if _, err := r.ReadAt(b, base); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, false, err
		}
		for i := 0; i < window && i+recordHeaderSize <= len(b); i++ {
			o := base + int64(i)
			h := b[i : i+recordHeaderSize]
			n := le.Uint32(h)
			sq := le.Uint64(h[8:])
			if n > maxRecordSize || int64(n) > size-o-recordHeaderSize || sq == 0 || (haveSeq && sq <= lastSeq) {
				continue
			}
			var p []byte
			if end := i + recordHeaderSize + int(n); end <= len(b) {
				p = b[i+recordHeaderSize : end]
			} else {
				if cap(payload) < int(n) {
					payload = make([]byte, n)
				}
				p = payload[:n]
				if _, err := r.ReadAt(p, o+recordHeaderSize); err != nil && !errors.Is(err, io.EOF) {
					return 0, 0, false, err
				}
			}
			if crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, p) == le.Uint32(h[4:]) {
				return o, sq, true, nil
			}
		}
	}
	return 0, 0, false, nil
}

// replayJournal scans the journal in r (size bytes) and calls apply, in
// order, with the decoded contents of every record newer than applied, the
// statfile's applied sequence. Older records are skipped without decoding:
// the statfile holds them already. The first newer record must be
// applied+1 (no acknowledged learn may be missing), and a record that does
// not decode is corruption, not a torn tail: its CRC was valid. It is
// OpenWriter's replay without the statfile, so it runs on any bytes.
func replayJournal(r io.ReaderAt, size int64, applied uint64, apply func(seq uint64, es []entry, nss []nsEntry) error) (journalScan, error) {
	return replay(r, size, applied, false, apply)
}

// replay is replayJournal; with repair, it skips bad stretches, sequence
// gaps and records that do not decode (they are reported in dropped), and
// applies every good record newer than applied.
func replay(r io.ReaderAt, size int64, applied uint64, repair bool, apply func(seq uint64, es []entry, nss []nsEntry) error) (journalScan, error) {
	var undecodable []JournalDrop
	records := 0
	scan, err := scanJournal(r, size, repair, func(seq uint64, p []byte) error {
		records++
		if seq <= applied {
			return nil
		}
		if seq != applied+1 && !repair {
			return fmt.Errorf("%w: journal jumps to seq %d but the statfile holds seq %d", ErrJournalCorrupt, seq, applied)
		}
		es, nss, err := decodePayload(p)
		if err != nil && repair {
			undecodable = append(undecodable, JournalDrop{Record: records, AfterSeq: applied, NextSeq: seq, Reason: err.Error()})
			return nil
		}
		if err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		if err := apply(seq, es, nss); err != nil {
			return err
		}
		applied = seq
		return nil
	})
	scan.dropped = append(scan.dropped, undecodable...)
	return scan, err
}

// validateJournal is Check's verdict on the journal in r (size bytes) of a
// statfile whose applied sequence is applied: a journal header, records
// that decode (old ones too: a record that does not is corruption wherever
// it is), consecutive sequence numbers, and no gap after applied. A torn
// tail is not a problem. A journal it accepts, replayJournal accepts too (apply errors aside).
func validateJournal(r io.ReaderAt, size int64, applied uint64) (journalScan, error) {
	scan, err := scanJournal(r, size, false, func(seq uint64, p []byte) error {
		if _, _, err := decodePayload(p); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		return nil
	})
	if err != nil {
		return scan, err
	}
	if scan.records > 0 && scan.firstSeq > applied+1 {
		return scan, fmt.Errorf("starts at seq %d but the statfile holds seq %d: records are missing", scan.firstSeq, applied)
	}
	return scan, nil
}

// openJournal opens (creating if missing) the journal at path.
func openJournal(path string, fsys *fileOps) (*journal, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, err
	}
	j := &journal{f: f, path: path, size: fi.Size()}
	created := false
	if j.size == 0 {
		if err := j.reset(fsys); err != nil {
			f.Close()
			return nil, false, err
		}
		created = true
	}
	return j, created, nil
}

// reset truncates the journal to an empty one (header only) and syncs it.
func (j *journal) reset(fsys *fileOps) error {
	var hdr [journalHeaderSize]byte
	copy(hdr[:], journalMagic)
	binary.LittleEndian.PutUint32(hdr[8:], journalVersion)
	if err := j.f.Truncate(0); err != nil {
		return err
	}
	if _, err := j.f.WriteAt(hdr[:], 0); err != nil {
		return err
	}
	j.size = journalHeaderSize
	return fsys.sync(j.f)
}

// truncateTo cuts a torn tail off the journal.
func (j *journal) truncateTo(n int64, fsys *fileOps) error {
	if err := j.f.Truncate(n); err != nil {
		return err
	}
	j.size = n
	return fsys.sync(j.f)
}

// append writes rec at the end of the journal and syncs it. On a failed
// write the journal is cut back to its previous size; the caller treats a
// failed sync as fatal (the kernel may have dropped the dirty pages).
func (j *journal) append(rec []byte, fsys *fileOps) (synced bool, err error) {
	fsys.step(StepJournalWrite)
	if _, err := j.f.WriteAt(rec, j.size); err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			return false, errors.Join(err, terr)
		}
		return true, err
	}
	j.size += int64(len(rec))
	fsys.step(StepJournalSync)
	if err := fsys.sync(j.f); err != nil {
		return false, err
	}
	return true, nil
}

// readJournalFile opens the journal at path for reading and passes it, with
// its size, to read. A missing journal is an empty one (0 bytes), which
// scanJournal reads as no records.
func readJournalFile(path string, read func(r io.ReaderAt, size int64) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return read(bytes.NewReader(nil), 0)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return read(f, fi.Size())
}
