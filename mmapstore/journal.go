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
	validEnd          int64 // offset after the last good record
	torn              int64 // bytes after validEnd (a torn or garbage tail)
}

// scanJournal reads every record of r. fn, if not nil, is called for each
// record in order. A record that is cut short or fails its CRC ends the
// journal (reported in torn). A bad header or a sequence that does not
// increase by one is an ErrJournalCorrupt error.
func scanJournal(r io.Reader, size int64, fn func(seq uint64, payload []byte) error) (journalScan, error) {
	var s journalScan
	// A buffer of up to 1 MiB, but no larger than the journal: most are a
	// few records, and Stat and Check scan them on every call.
	br := bufio.NewReaderSize(r, int(max(min(size, 1<<20), 0)))
	var hdr [journalHeaderSize]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		if size == 0 {
			return s, nil // an empty file is an empty journal
		}
		return s, fmt.Errorf("%w: header cut short (%d bytes)", ErrJournalCorrupt, size)
	}
	le := binary.LittleEndian
	if string(hdr[:8]) != journalMagic {
		return s, fmt.Errorf("%w: bad magic %q (not a Sluice journal)", ErrJournalCorrupt, hdr[:8])
	}
	if v := le.Uint32(hdr[8:]); v != journalVersion {
		return s, fmt.Errorf("%w: journal version %d, this build reads %d", ErrJournalCorrupt, v, journalVersion)
	}
	s.validEnd = journalHeaderSize
	var payload []byte
	for {
		var rh [recordHeaderSize]byte
		if _, err := io.ReadFull(br, rh[:]); err != nil {
			break
		}
		n := le.Uint32(rh[0:])
		if n > maxRecordSize || int64(n) > size-s.validEnd-recordHeaderSize {
			break
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			break
		}
		crc := crc32.Update(crc32.Checksum(rh[8:], castagnoli), castagnoli, payload)
		if crc != le.Uint32(rh[4:]) {
			break
		}
		seq := le.Uint64(rh[8:])
		if s.records > 0 && seq != s.lastSeq+1 {
			return s, fmt.Errorf("%w: record at offset %d has seq %d after seq %d", ErrJournalCorrupt, s.validEnd, seq, s.lastSeq)
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
		s.validEnd += recordHeaderSize + int64(n)
	}
	s.torn = size - s.validEnd
	return s, nil
}

// replayJournal scans the journal in r (size bytes) and calls apply, in
// order, with the decoded contents of every record newer than applied, the
// statfile's applied sequence. Older records are skipped without decoding:
// the statfile holds them already. The first newer record must be
// applied+1 (no acknowledged learn may be missing), and a record that does
// not decode is corruption, not a torn tail: its CRC was valid. It is
// OpenWriter's replay without the statfile, so it runs on any bytes.
func replayJournal(r io.Reader, size int64, applied uint64, apply func(seq uint64, es []entry, nss []nsEntry) error) (journalScan, error) {
	return scanJournal(r, size, func(seq uint64, p []byte) error {
		if seq <= applied {
			return nil
		}
		if seq != applied+1 {
			return fmt.Errorf("%w: journal jumps to seq %d but the statfile holds seq %d", ErrJournalCorrupt, seq, applied)
		}
		es, nss, err := decodePayload(p)
		if err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		if err := apply(seq, es, nss); err != nil {
			return err
		}
		applied = seq
		return nil
	})
}

// validateJournal is Check's verdict on the journal in r (size bytes) of a
// statfile whose applied sequence is applied: a journal header, records
// that decode (old ones too: a record that does not is corruption wherever
// it is), consecutive sequence numbers, and no gap after applied. A torn
// tail is not a problem. A journal it accepts, replayJournal accepts too (apply errors aside).
func validateJournal(r io.Reader, size int64, applied uint64) error {
	scan, err := scanJournal(r, size, func(seq uint64, p []byte) error {
		if _, _, err := decodePayload(p); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if scan.records > 0 && scan.firstSeq > applied+1 {
		return fmt.Errorf("starts at seq %d but the statfile holds seq %d: records are missing", scan.firstSeq, applied)
	}
	return nil
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
	if _, err := j.f.WriteAt(rec, j.size); err != nil {
		if terr := j.f.Truncate(j.size); terr != nil {
			return false, errors.Join(err, terr)
		}
		return true, err
	}
	j.size += int64(len(rec))
	if err := fsys.sync(j.f); err != nil {
		return false, err
	}
	return true, nil
}

// readJournalFile opens the journal at path for reading and passes it, with
// its size, to read. A missing journal is an empty one (0 bytes), which
// scanJournal reads as no records.
func readJournalFile(path string, read func(r io.Reader, size int64) error) error {
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
