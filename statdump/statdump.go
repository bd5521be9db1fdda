// Package statdump is the portable backup format of a statfile, written
// by `sluice dump` and read by `sluice load`: a versioned, compressed,
// checksummed stream that rebuilds the same statfile (the same slots, the
// same namespace directory, the same totals) on any machine.
//
// # Format (version 1)
//
// A stream is an 8-byte magic "SLUICEDP", a little-endian u32 format
// version, then one gzip member holding the body, and nothing after it.
// The body's integers are little-endian; uvarint is encoding/binary's:
//
//	header    u8 len, tokenizer hash name | u64 seed | u32 window |
//	          u32 tokenizer version | u64 capacity | u64 namespace capacity |
//	          u32 probe bound | u64 generation | u64 applied sequence |
//	          u64 expired | u64 shared spam | u64 shared ham
//	namespace 'N' | u64 id | u64 spam | u64 ham | u8 len, name      (any number)
//	tokens    'T' | uvarint n (1..4096) | n × (uvarint zigzag(key-prev) |
//	          uvarint spam | uvarint ham)                          (any number)
//	end       'E' | u64 namespaces | u64 tokens
//
// After the gzip member comes the SHA-256 of every byte before it (magic,
// version and the compressed member as they are in the stream), so that
// no byte can change unnoticed, not even one that decompresses the same.
//
// Tokens are the statfile's slots as they are: a key is the token hash
// with its namespace mixed in (mmapstore.mixKey), so a token cannot be
// moved to another namespace or tokenizer; the learn cache is slots of
// its reserved namespaces and travels with them. Keys come in the order
// mmapstore.Image.Slots gives, nearly ascending, so their differences are
// short varints; prev starts at 0 and runs across blocks.
//
// A reader refuses, with an error wrapping ErrFormat, ErrVersion,
// ErrTruncated or ErrCorrupt: another magic or version, a stream cut
// short, anything after the end, counts that disagree with the records,
// and a checksum that does not match. It holds one record at a time:
// memory does not grow with what a header or a count claims, and the
// namespaces and tokens are bounded by the geometry (and the geometry by
// Options.MaxBytes) before anything is built from them.
package statdump

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"

	"github.com/sluicemail/sluice/mmapstore"
)

// Magic and Version identify a stream.
const (
	Magic   = "SLUICEDP"
	Version = 1
)

// gzipHeader is the gzip member header compress/gzip writes at the
// default level without a name, comment or time.
const gzipHeader = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

// maxBlock is the most tokens in one 'T' record.
const maxBlock = 4096

// Errors wrapped by Read.
var (
	ErrFormat    = errors.New("statdump: not a sluice dump")
	ErrVersion   = errors.New("statdump: unsupported dump version")
	ErrTruncated = errors.New("statdump: dump is truncated")
	ErrCorrupt   = errors.New("statdump: dump is corrupt")
)

// Source is what Write dumps: mmapstore.Image.
type Source interface {
	Meta() mmapstore.Meta
	Namespaces() []mmapstore.NamespaceInfo
	Slots(fn func(key uint64, c mmapstore.Counts) error) error
}

// Sink receives what Read decodes, in stream order: Header once, then
// namespaces and tokens. Nothing it received is confirmed until Read
// returns nil (the checksum is at the end).
type Sink interface {
	Header(mmapstore.Meta) error
	Namespace(mmapstore.NamespaceInfo) error
	Slot(key uint64, c mmapstore.Counts) error
}

// Summary counts a stream's records.
type Summary struct {
	Namespaces uint64
	Tokens     uint64
}

// Write writes src to w as a version 1 stream.
func Write(w io.Writer, src Source) (Summary, error) {
	var sum Summary
	wrap := func(err error) error { return fmt.Errorf("statdump: write: %w", err) }
	h := sha256.New()
	raw := io.MultiWriter(w, h)
	prefix := binary.LittleEndian.AppendUint32([]byte(Magic), Version)
	if _, err := raw.Write(prefix); err != nil {
		return sum, wrap(err)
	}
	zw := gzip.NewWriter(raw)
	bw := bufio.NewWriterSize(zw, 256<<10)
	var b []byte
	m := src.Meta()
	b = append(b, byte(len(m.Params.Hash)))
	b = append(b, m.Params.Hash...)
	le := binary.LittleEndian
	b = le.AppendUint64(b, m.Params.Seed)
	b = le.AppendUint32(b, uint32(m.Params.Window))
	b = le.AppendUint32(b, uint32(m.Params.Version))
	for _, v := range []uint64{m.Capacity, m.NSCapacity} {
		b = le.AppendUint64(b, v)
	}
	b = le.AppendUint32(b, m.MaxProbe)
	for _, v := range []uint64{m.Generation, m.AppliedSeq, m.Expired, m.Shared.Spam, m.Shared.Ham} {
		b = le.AppendUint64(b, v)
	}
	bw.Write(b)
	for _, ns := range src.Namespaces() {
		b = append(b[:0], 'N')
		b = le.AppendUint64(b, uint64(ns.NS))
		b = le.AppendUint64(b, ns.Totals.Spam)
		b = le.AppendUint64(b, ns.Totals.Ham)
		name := ns.Name[:min(len(ns.Name), 255)]
		b = append(b, byte(len(name)))
		b = append(b, name...)
		bw.Write(b)
		sum.Namespaces++
	}
	var block []byte
	n, prev := 0, uint64(0)
	flush := func() {
		if n == 0 {
			return
		}
		b = append(b[:0], 'T')
		b = binary.AppendUvarint(b, uint64(n))
		bw.Write(b)
		bw.Write(block)
		block, n = block[:0], 0
	}
	err := src.Slots(func(key uint64, c mmapstore.Counts) error {
		block = binary.AppendUvarint(block, zigzag(int64(key-prev)))
		block = binary.AppendUvarint(block, uint64(c.Spam))
		block = binary.AppendUvarint(block, uint64(c.Ham))
		prev = key
		sum.Tokens++
		if n++; n == maxBlock {
			flush()
		}
		return nil
	})
	if err != nil {
		return sum, wrap(err)
	}
	flush()
	b = append(b[:0], 'E')
	b = le.AppendUint64(b, sum.Namespaces)
	b = le.AppendUint64(b, sum.Tokens)
	bw.Write(b)
	if err := bw.Flush(); err != nil {
		return sum, wrap(err)
	}
	if err := zw.Close(); err != nil {
		return sum, wrap(err)
	}
	if _, err := w.Write(h.Sum(nil)); err != nil {
		return sum, wrap(err)
	}
	return sum, nil
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// Options bound what Read accepts.
type Options struct {
	// MaxBytes refuses a dump whose statfile would be larger (0: no bound).
	MaxBytes int64
}

// Read decodes a stream into s and checks it whole. Any error means the
// stream must not be used, whatever s received.
func Read(r io.Reader, s Sink, opts *Options) (Summary, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var sum Summary
	h := sha256.New()
	var pre [12]byte
	br := bufio.NewReader(r) // a ByteReader: gzip reads no byte past its member
	if n, err := io.ReadFull(br, pre[:]); err != nil {
		if k := min(n, len(Magic)); n > 0 && string(pre[:k]) == Magic[:k] {
			return sum, fmt.Errorf("%w: %d bytes, cut in the header", ErrTruncated, n)
		}
		return sum, fmt.Errorf("%w: %d bytes", ErrFormat, n)
	}
	if string(pre[:8]) != Magic {
		return sum, fmt.Errorf("%w: magic %q", ErrFormat, pre[:8])
	}
	if v := binary.LittleEndian.Uint32(pre[8:]); v != Version {
		return sum, fmt.Errorf("%w: version %d, this build reads %d", ErrVersion, v, Version)
	}
	h.Write(pre[:])
	hr := &hashReader{r: br, h: h}
	// The gzip header says nothing about the content (which the gzip CRC
	// and the SHA-256 cover), and Write always writes the same one: any
	// other is an alteration.
	if zh, err := br.Peek(len(gzipHeader)); err != nil {
		return sum, gzipErr(err)
	} else if string(zh) != gzipHeader {
		return sum, fmt.Errorf("%w: gzip header % x, this format writes % x", ErrCorrupt, zh, gzipHeader)
	}
	zr, err := gzip.NewReader(hr)
	if err != nil {
		return sum, gzipErr(err)
	}
	zr.Multistream(false)
	d := &decoder{r: bufio.NewReaderSize(zr, 64<<10)}
	if err := d.body(s, &o, &sum); err != nil {
		return sum, err
	}
	// The gzip member must end here (its own CRC is checked at EOF), and
	// nothing may follow it.
	var one [1]byte
	if n, err := d.r.Read(one[:]); n > 0 {
		return sum, fmt.Errorf("%w: data after the end record", ErrCorrupt)
	} else if err != io.EOF {
		if err == nil {
			err = io.ErrNoProgress
		}
		return sum, gzipErr(err)
	}
	want := h.Sum(nil)
	var got [sha256.Size]byte
	if _, err := io.ReadFull(br, got[:]); err != nil {
		return sum, fmt.Errorf("%w: the checksum is missing", ErrTruncated)
	}
	if string(got[:]) != string(want) {
		return sum, fmt.Errorf("%w: SHA-256 mismatch: the dump was altered", ErrCorrupt)
	}
	if n, _ := br.Read(one[:]); n > 0 {
		return sum, fmt.Errorf("%w: data after the checksum", ErrCorrupt)
	}
	return sum, nil
}

// gzipErr names a compression layer error for what it means to a user.
func gzipErr(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %v", ErrTruncated, io.ErrUnexpectedEOF)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// hashReader hashes what gzip consumes; it is a flate.Reader (a
// ByteReader), so gzip reads no byte past its member.
type hashReader struct {
	r   *bufio.Reader
	h   hash.Hash
	one [1]byte
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	return n, err
}

func (r *hashReader) ReadByte() (byte, error) {
	c, err := r.r.ReadByte()
	if err == nil {
		r.one[0] = c
		r.h.Write(r.one[:])
	}
	return c, err
}

// decoder reads the body.
type decoder struct {
	r   *bufio.Reader
	buf [256]byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			d.err = fmt.Errorf("%w: %v", ErrTruncated, io.ErrUnexpectedEOF)
		} else {
			d.err = gzipErr(err)
		}
	}
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return d.buf[:n]
	}
	if _, err := io.ReadFull(d.r, d.buf[:n]); err != nil {
		d.fail(err)
		return d.buf[:n]
	}
	return d.buf[:n]
}

func (d *decoder) u8() byte    { return d.bytes(1)[0] }
func (d *decoder) u32() uint32 { return binary.LittleEndian.Uint32(d.bytes(4)) }
func (d *decoder) u64() uint64 { return binary.LittleEndian.Uint64(d.bytes(8)) }

func (d *decoder) uvarint() uint64 {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c := d.u8()
		if d.err != nil {
			return 0
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x
		}
	}
	d.fail(fmt.Errorf("%w: varint overflows 64 bits", ErrCorrupt))
	return 0
}

func (d *decoder) body(s Sink, o *Options, sum *Summary) error {
	var m mmapstore.Meta
	m.Params.Hash = string(d.bytes(int(d.u8())))
	m.Params.Seed = d.u64()
	m.Params.Window = int(d.u32())
	m.Params.Version = int(d.u32())
	m.Capacity, m.NSCapacity = d.u64(), d.u64()
	m.MaxProbe = d.u32()
	m.Generation, m.AppliedSeq, m.Expired = d.u64(), d.u64(), d.u64()
	m.Shared.Spam, m.Shared.Ham = d.u64(), d.u64()
	if d.err != nil {
		return d.err
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("%w: header: %w", ErrCorrupt, err)
	}
	if o.MaxBytes > 0 && m.FileSize() > o.MaxBytes {
		return fmt.Errorf("statdump: the dump's statfile has %d bytes, more than the maximum %d (statfile.max_size)", m.FileSize(), o.MaxBytes)
	}
	if err := s.Header(m); err != nil {
		return err
	}
	var prev uint64
	for {
		tag := d.u8()
		if d.err != nil {
			return d.err
		}
		switch tag {
		case 'N':
			var ns mmapstore.NamespaceInfo
			ns.NS = mmapstore.Namespace(d.u64())
			ns.Totals.Spam, ns.Totals.Ham = d.u64(), d.u64()
			ns.Name = string(d.bytes(int(d.u8())))
			if d.err != nil {
				return d.err
			}
			if sum.Tokens > 0 {
				return fmt.Errorf("%w: a namespace after the tokens", ErrCorrupt)
			}
			if sum.Namespaces++; sum.Namespaces > m.NSCapacity/2 {
				return fmt.Errorf("%w: more namespaces than the directory holds", ErrCorrupt)
			}
			if err := s.Namespace(ns); err != nil {
				return err
			}
		case 'T':
			n := d.uvarint()
			if d.err != nil {
				return d.err
			}
			if n == 0 || n > maxBlock {
				return fmt.Errorf("%w: a token block of %d", ErrCorrupt, n)
			}
			for range n {
				key := prev + uint64(unzigzag(d.uvarint()))
				spam, ham := d.uvarint(), d.uvarint()
				if d.err != nil {
					return d.err
				}
				if spam > math.MaxUint32 || ham > math.MaxUint32 {
					return fmt.Errorf("%w: token count over 2^32-1", ErrCorrupt)
				}
				if sum.Tokens++; sum.Tokens >= m.Capacity {
					return fmt.Errorf("%w: more tokens than the table holds", ErrCorrupt)
				}
				prev = key
				if err := s.Slot(key, mmapstore.Counts{Spam: uint32(spam), Ham: uint32(ham)}); err != nil {
					return err
				}
			}
		case 'E':
			nsN, tokN := d.u64(), d.u64()
			if d.err != nil {
				return d.err
			}
			if nsN != sum.Namespaces || tokN != sum.Tokens {
				return fmt.Errorf("%w: the end record counts %d namespaces and %d tokens, the stream has %d and %d",
					ErrCorrupt, nsN, tokN, sum.Namespaces, sum.Tokens)
			}
			return nil
		default:
			return fmt.Errorf("%w: unknown record %#x", ErrCorrupt, tag)
		}
	}
}

// WriteText writes src for people: a header, one namespace per line, then
// one token per line (key in hex, spam, ham).
func WriteText(w io.Writer, src Source) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	m := src.Meta()
	fmt.Fprintf(bw, "# sluice dump, text\n# tokenizer %s seed=%#x window=%d version=%d\n", m.Params.Hash, m.Params.Seed, m.Params.Window, m.Params.Version)
	fmt.Fprintf(bw, "# capacity %d, namespace capacity %d, probe bound %d, generation %d, applied seq %d, expired %d\n",
		m.Capacity, m.NSCapacity, m.MaxProbe, m.Generation, m.AppliedSeq, m.Expired)
	fmt.Fprintf(bw, "shared\t%d\t%d\n", m.Shared.Spam, m.Shared.Ham)
	for _, ns := range src.Namespaces() {
		fmt.Fprintf(bw, "namespace\t%#016x\t%d\t%d\t%q\n", uint64(ns.NS), ns.Totals.Spam, ns.Totals.Ham, ns.Name)
	}
	err := src.Slots(func(key uint64, c mmapstore.Counts) error {
		_, err := fmt.Fprintf(bw, "%016x\t%d\t%d\n", key, c.Spam, c.Ham)
		return err
	})
	if err != nil {
		return fmt.Errorf("statdump: write text: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("statdump: write text: %w", err)
	}
	return nil
}
