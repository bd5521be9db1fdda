package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"sync"

	"github.com/sluicemail/sluice/internal/atomicfile"
	"github.com/sluicemail/sluice/learn"
)

// ErrOutboxFull is returned by Outbox.Append when the events waiting for
// the broker already hold the outbox's byte limit: the learn is refused
// (its caller queues it or fails it) instead of growing without bound.
var ErrOutboxFull = errors.New("cluster: outbox full (the broker has been unreachable too long)")

// ErrEventTooLarge is returned by Outbox.Append for an event whose wire
// form exceeds the broker's message size: it could never be published,
// and would block every event behind it.
var ErrEventTooLarge = errors.New("cluster: event larger than the broker takes")

// The outbox is an append-only file of records, each
//
//	length uint32 LE (of kind and body) | CRC-32C uint32 LE (of kind and body) | kind byte | body
//
// of three kinds: next (body: uvarint, the origin sequence the first
// event after it gets; the file's first record), event (body: the event's
// wire form; sequences follow each other with no gap) and acked (body:
// uvarint, every event up to it is in the stream). At open, a record cut
// short or failing its CRC ends the file: it is the tail of a write a
// crash interrupted, and it is truncated away.
const (
	kindNext  = 'N'
	kindEvent = 'E'
	kindAcked = 'A'

	recordHeader = 8
	// maxRecord bounds a record's claimed length before it is read.
	maxRecord = 1 + 16 + MaxHashes*10 + 2*MaxNameLen + MaxSourceLen + MaxUserLen + MaxLanguageLen + MaxHashNameLen + 64
	// compactAt: the file is rewritten, without its acknowledged
	// events, once it is this large and at least half of it is acknowledged.
	compactAt = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Outbox is the durable queue of the events a host originated that the
// stream has not acknowledged yet. Append writes and fsyncs the event
// before it returns, so an event is never lost between the learn and the
// publish; the origin's sequence numbers have no gaps, across restarts
// and compactions (the next number is in the file even when no event is).
// It is safe for concurrent use.
type Outbox struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	size     int64 // bytes in the file
	live     int64 // bytes of pending event records
	next     uint64
	pending  []pendingEvent
	maxBytes int64
	compact  int64 // compactAt, smaller in tests
	maxEvent int   // largest wire form appended (0: no limit but MaxHashes)
	log      *slog.Logger
}

// pendingEvent is one event of the outbox waiting for the stream's ack.
type pendingEvent struct {
	seq  uint64
	data []byte // wire form
}

// OpenOutbox opens (creating) the outbox at path. maxBytes bounds the
// bytes of pending events (0: 256 MiB).
func OpenOutbox(path string, maxBytes int64, log *slog.Logger) (*Outbox, error) {
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create outbox directory: %w", err)
	}
	o := &Outbox{path: path, next: 1, maxBytes: maxBytes, compact: compactAt, log: log}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read outbox %s: %w", path, err)
	}
	if errors.Is(err, os.ErrNotExist) {
		if err := o.rewrite(); err != nil {
			return nil, err
		}
		return o, nil
	}
	good, err := o.recover(data)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	if good < int64(len(data)) {
		log.Warn("outbox: dropped a torn tail (a write cut by a crash)", "path", path, "bytes", int64(len(data))-good)
	}
	if good < int64(len(data)) || good == 0 {
		// Rewrite rather than truncate: the file then starts with its
		// next record whatever was torn.
		if err := o.rewrite(); err != nil {
			return nil, err
		}
		return o, nil
	}
	if o.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", path, err)
	}
	o.size = good
	return o, nil
}

// recover reads the records of data into o and returns the length of
// its good prefix. A CRC-valid record that contradicts the others (an
// event out of sequence) is an error: the file is not the outbox's.
func (o *Outbox) recover(data []byte) (int64, error) {
	var off int64
	for first := true; ; first = false {
		kind, body, n := readRecord(data[off:])
		if n == 0 {
			return off, nil
		}
		switch {
		case first && kind != kindNext:
			return off, fmt.Errorf("first record is %q, not the next sequence", kind)
		case kind == kindNext:
			v, k := binary.Uvarint(body)
			if k <= 0 || k != len(body) || v == 0 {
				return off, fmt.Errorf("bad next-sequence record at offset %d", off)
			}
			if !first && v != o.next {
				return off, fmt.Errorf("next-sequence record %d at offset %d, events reached %d", v, off, o.next)
			}
			o.next = v
		case kind == kindEvent:
			ev, err := Decode(body)
			if err != nil {
				return off, fmt.Errorf("event at offset %d: %w", off, err)
			}
			if ev.Seq != o.next {
				return off, fmt.Errorf("event sequence %d at offset %d, want %d", ev.Seq, off, o.next)
			}
			o.pending = append(o.pending, pendingEvent{seq: ev.Seq, data: body})
			o.live += n
			o.next++
		case kind == kindAcked:
			v, k := binary.Uvarint(body)
			if k <= 0 || k != len(body) || v >= o.next {
				return off, fmt.Errorf("bad acked record at offset %d", off)
			}
			o.dropAcked(v)
		default:
			return off, fmt.Errorf("unknown record kind %q at offset %d", kind, off)
		}
		off += n
	}
}

// readRecord returns the record at the start of b and its length, or 0
// when b does not start with a whole record whose CRC matches.
func readRecord(b []byte) (kind byte, body []byte, n int64) {
	if len(b) < recordHeader+1 {
		return 0, nil, 0
	}
	l := binary.LittleEndian.Uint32(b)
	if l < 1 || l > maxRecord || uint64(len(b)-recordHeader) < uint64(l) {
		return 0, nil, 0
	}
	rec := b[recordHeader : recordHeader+int(l)]
	if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, nil, 0
	}
	return rec[0], rec[1:], recordHeader + int64(l)
}

func appendRecord(dst []byte, kind byte, body []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(1+len(body)))
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = append(dst, kind)
	dst = append(dst, body...)
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(dst[start+recordHeader:], castagnoli))
	return dst
}

// dropAcked removes the pending events up to seq.
func (o *Outbox) dropAcked(seq uint64) {
	i := 0
	for i < len(o.pending) && o.pending[i].seq <= seq {
		o.live -= recordHeader + 1 + int64(len(o.pending[i].data))
		i++
	}
	o.pending = append(o.pending[:0:0], o.pending[i:]...)
}

// rewrite replaces the file with a next record and the pending events,
// atomically and durably, and reopens it for appending.
func (o *Outbox) rewrite() error {
	buf := appendRecord(nil, kindNext, binary.AppendUvarint(nil, o.firstPending()))
	for _, p := range o.pending {
		buf = appendRecord(buf, kindEvent, p.data)
	}
	if o.f != nil {
		if err := o.f.Close(); err != nil {
			o.log.Warn("outbox: close before compaction", "err", err)
		}
		o.f = nil
	}
	if err := atomicfile.Write(o.path, buf, nil); err != nil {
		return fmt.Errorf("rewrite outbox %s: %w", o.path, err)
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("open outbox %s: %w", o.path, err)
	}
	o.f, o.size = f, int64(len(buf))
	return nil
}

// firstPending is the sequence of the first pending event, or the next
// sequence when none is pending.
func (o *Outbox) firstPending() uint64 {
	if len(o.pending) > 0 {
		return o.pending[0].seq
	}
	return o.next
}

// Append gives ev the outbox's next sequence (ev.Seq), writes it and
// fsyncs the file. ev.Site and ev.Origin must be set.
func (o *Outbox) Append(ev *learn.Event) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return 0, fmt.Errorf("outbox %s: closed", o.path)
	}
	ev.Seq = o.next
	data, err := Encode(nil, ev)
	if err != nil {
		return 0, err
	}
	if o.maxEvent > 0 && len(data) > o.maxEvent {
		return 0, fmt.Errorf("%w: %d bytes (%d token hashes), at most %d", ErrEventTooLarge, len(data), len(ev.Hashes), o.maxEvent)
	}
	if o.live+int64(len(data)) > o.maxBytes && len(o.pending) > 0 {
		return 0, fmt.Errorf("%w: %d events, %d bytes", ErrOutboxFull, len(o.pending), o.live)
	}
	rec := appendRecord(nil, kindEvent, data)
	if _, err := o.f.Write(rec); err != nil {
		ev.Seq = 0
		return 0, o.broken(fmt.Errorf("append to outbox %s: %w", o.path, err))
	}
	if err := o.f.Sync(); err != nil {
		return 0, o.broken(fmt.Errorf("sync outbox %s: %w", o.path, err))
	}
	o.size += int64(len(rec))
	o.live += int64(len(rec))
	o.pending = append(o.pending, pendingEvent{seq: ev.Seq, data: data})
	o.next++
	return ev.Seq, nil
}

// broken handles a failed write: the file may end in a partial record, so
// it is rewritten from memory (which has not changed); if that fails too
// the outbox is closed and every later Append fails.
func (o *Outbox) broken(err error) error {
	if rerr := o.rewrite(); rerr != nil {
		if o.f != nil {
			o.f.Close()
			o.f = nil
		}
		return errors.Join(err, rerr)
	}
	return err
}

// Ack records that the stream holds every event up to seq: they leave
// the outbox. The record is not fsync'd: losing it only means resending
// events the stream refuses as duplicates.
func (o *Outbox) Ack(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return fmt.Errorf("outbox %s: closed", o.path)
	}
	if len(o.pending) == 0 || seq < o.pending[0].seq {
		return nil
	}
	seq = min(seq, o.next-1)
	o.dropAcked(seq)
	if o.size >= o.compact && o.live <= o.size/2 {
		return o.rewrite()
	}
	rec := appendRecord(nil, kindAcked, binary.AppendUvarint(nil, seq))
	if _, err := o.f.Write(rec); err != nil {
		return o.broken(fmt.Errorf("append to outbox %s: %w", o.path, err))
	}
	o.size += int64(len(rec))
	return nil
}

// Pending returns the events waiting for the stream, oldest first (at
// most max; max <= 0: all). The slices are shared: do not modify them.
func (o *Outbox) Pending(max int) []pendingEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := len(o.pending)
	if max > 0 {
		n = min(n, max)
	}
	return append([]pendingEvent(nil), o.pending[:n]...)
}

// firstPendingSeq is the sequence of the oldest pending event, or the
// next sequence when none is pending.
func (o *Outbox) firstPendingSeq() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.firstPending()
}

// Len returns the number of events waiting for the stream.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// Next returns the sequence the next appended event gets.
func (o *Outbox) Next() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next
}

// Close closes the file. Pending events stay in it for the next open.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	if err != nil {
		return fmt.Errorf("close outbox %s: %w", o.path, err)
	}
	return nil
}

var _ io.Closer = (*Outbox)(nil)
