package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// WireVersion is the format version of an encoded event: its first byte.
// A decoder refuses any other.
const WireVersion = 1

// Bounds of a decoded event. An event claiming more is refused before
// anything is allocated for it.
const (
	MaxHashes      = 1 << 18 // token hashes per event (the tokenizer keeps far fewer)
	MaxNameLen     = 64      // site and origin
	MaxSourceLen   = 32      // source
	MaxUserLen     = 320     // user: an e-mail address at most
	MaxLanguageLen = 16      // language code
	MaxHashNameLen = 32      // tokenizer hash function name (as mmapstore's header)
)

// ErrWire is matched (errors.Is) by every Decode error.
var ErrWire = errors.New("cluster: malformed event")

// Encode appends the wire form of ev to dst and returns it. The hashes
// are written sorted (an event's hashes are a set: deduplicated, in no
// meaningful order), so Decode returns them sorted; duplicates are an
// error. ev.Time is not encoded: the stream's timestamp is the event's
// time.
//
// Layout (v1): version byte; site, origin as uvarint length + bytes; seq
// uvarint; label byte; source, user as uvarint length + bytes; digest 32
// bytes; language as uvarint length + bytes; params: hash name (uvarint
// length + bytes), seed 8 bytes little-endian, window and version
// uvarints; hash count uvarint, then the first hash and each following
// difference as uvarints.
func Encode(dst []byte, ev *learn.Event) ([]byte, error) {
	if err := checkEvent(ev); err != nil {
		return dst, err
	}
	hashes := ev.Hashes
	if !slices.IsSorted(hashes) {
		hashes = slices.Clone(hashes)
		slices.Sort(hashes)
	}
	for i := 1; i < len(hashes); i++ {
		if hashes[i] == hashes[i-1] {
			return dst, fmt.Errorf("cluster: encode event %s/%d: duplicate token hash %#x", ev.Origin, ev.Seq, hashes[i])
		}
	}
	dst = append(dst, WireVersion)
	dst = appendString(dst, ev.Site)
	dst = appendString(dst, ev.Origin)
	dst = binary.AppendUvarint(dst, ev.Seq)
	dst = append(dst, byte(ev.Label))
	dst = appendString(dst, ev.Source)
	dst = appendString(dst, ev.User)
	dst = append(dst, ev.Digest[:]...)
	dst = appendString(dst, ev.Language)
	dst = appendString(dst, ev.Params.Hash)
	dst = binary.LittleEndian.AppendUint64(dst, ev.Params.Seed)
	dst = binary.AppendUvarint(dst, uint64(ev.Params.Window))
	dst = binary.AppendUvarint(dst, uint64(ev.Params.Version))
	dst = binary.AppendUvarint(dst, uint64(len(hashes)))
	var prev uint64
	for _, h := range hashes {
		dst = binary.AppendUvarint(dst, h-prev)
		prev = h
	}
	return dst, nil
}

// checkEvent refuses an event that Decode would refuse.
func checkEvent(ev *learn.Event) error {
	switch {
	case ev.Site == "" || len(ev.Site) > MaxNameLen:
		return fmt.Errorf("cluster: encode event: site %q is empty or longer than %d bytes", ev.Site, MaxNameLen)
	case ev.Origin == "" || len(ev.Origin) > MaxNameLen:
		return fmt.Errorf("cluster: encode event: origin %q is empty or longer than %d bytes", ev.Origin, MaxNameLen)
	case ev.Seq == 0:
		return fmt.Errorf("cluster: encode event %s: sequence 0", ev.Origin)
	case !ev.Label.Valid():
		return fmt.Errorf("cluster: encode event %s/%d: %v", ev.Origin, ev.Seq, ev.Label)
	case len(ev.Source) > MaxSourceLen, len(ev.User) > MaxUserLen, len(ev.Language) > MaxLanguageLen, len(ev.Params.Hash) > MaxHashNameLen:
		return fmt.Errorf("cluster: encode event %s/%d: source, user, language or hash name too long", ev.Origin, ev.Seq)
	case ev.Params.Window < 0 || ev.Params.Version < 0:
		return fmt.Errorf("cluster: encode event %s/%d: negative tokenizer parameters", ev.Origin, ev.Seq)
	case len(ev.Hashes) > MaxHashes:
		return fmt.Errorf("cluster: encode event %s/%d: %d token hashes, at most %d", ev.Origin, ev.Seq, len(ev.Hashes), MaxHashes)
	}
	return nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decode reads one event in the wire form. It refuses (ErrWire) another
// version, any length over its bound or over what is left of data,
// unsorted or repeated hashes, an invalid label, and trailing bytes.
func Decode(data []byte) (learn.Event, error) {
	d := decoder{buf: data}
	var ev learn.Event
	if v := d.byte(); d.err == nil && v != WireVersion {
		return ev, fmt.Errorf("%w: version %d, want %d", ErrWire, v, WireVersion)
	}
	ev.Site = d.string("site", MaxNameLen)
	ev.Origin = d.string("origin", MaxNameLen)
	ev.Seq = d.uvarint("seq")
	ev.Label = learn.Label(d.byte())
	ev.Source = d.string("source", MaxSourceLen)
	ev.User = d.string("user", MaxUserLen)
	copy(ev.Digest[:], d.bytes("digest", 32))
	ev.Language = d.string("language", MaxLanguageLen)
	ev.Params = mmapstore.Params{Hash: d.string("hash name", MaxHashNameLen)}
	if b := d.bytes("seed", 8); b != nil {
		ev.Params.Seed = binary.LittleEndian.Uint64(b)
	}
	ev.Params.Window = d.small("window")
	ev.Params.Version = d.small("tokenizer version")
	n := d.uvarint("hash count")
	if d.err == nil && (n > MaxHashes || n > uint64(len(d.buf))) {
		return ev, fmt.Errorf("%w: %d token hashes (at most %d, and one byte each)", ErrWire, n, min(MaxHashes, len(d.buf)))
	}
	if d.err == nil && n > 0 {
		ev.Hashes = make([]uint64, n)
		var prev uint64
		for i := range ev.Hashes {
			delta := d.uvarint("hash")
			if d.err != nil {
				break
			}
			if i > 0 && delta == 0 || prev+delta < prev {
				d.err = fmt.Errorf("%w: token hashes not strictly ascending at %d", ErrWire, i)
				break
			}
			prev += delta
			ev.Hashes[i] = prev
		}
	}
	switch {
	case d.err != nil:
		return learn.Event{}, d.err
	case len(d.buf) > 0:
		return learn.Event{}, fmt.Errorf("%w: %d trailing bytes", ErrWire, len(d.buf))
	case ev.Site == "" || ev.Origin == "" || ev.Seq == 0:
		return learn.Event{}, fmt.Errorf("%w: no site, origin or sequence", ErrWire)
	case !ev.Label.Valid():
		return learn.Event{}, fmt.Errorf("%w: %v", ErrWire, ev.Label)
	}
	return ev, nil
}

// decoder reads the wire form; the first error sticks and later reads
// return zero values.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s cut short or too long", ErrWire, what)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.buf) < 1 {
		d.fail("event")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 || n > 1 && d.buf[n-1] == 0 { // cut short, overflowing or overlong (one form per value)
		d.fail(what)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// small reads a uvarint that must fit a non-negative int32.
func (d *decoder) small(what string) int {
	v := d.uvarint(what)
	if v > 1<<31-1 {
		d.fail(what)
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(what string, n int) []byte {
	if d.err != nil || len(d.buf) < n {
		d.fail(what)
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) string(what string, max int) string {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(max) {
		d.fail(what)
		return ""
	}
	return string(d.bytes(what, int(n)))
}
