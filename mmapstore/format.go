package mmapstore

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
)

// Identity of the file format. See doc.go for the byte-offset tables.
const (
	// Magic is the first 8 bytes of every statfile.
	Magic = "SLUICEST"
	// Version is the format version written by this package. Version 2
	// added the totals checksum; a version 1 file is read as it is and
	// upgraded in place by the next writer (see doc.go).
	Version = 2
	// minVersion is the oldest format version this package reads.
	minVersion = 1
	// HeaderSize is the size of the header page; the slot table starts here.
	HeaderSize = 4096
	// SlotSize is the size of one table slot: u64 key, u32 spam, u32 ham.
	SlotSize = 16
	// NSRecordSize is the size of one namespace directory record.
	NSRecordSize = 128
	// MaxNameLen is the longest namespace name kept in the directory;
	// longer names are truncated.
	MaxNameLen = NSRecordSize - nsName
	// DefaultMaxProbe is the probe bound written into new files.
	DefaultMaxProbe = 512

	minSlots   = 1024
	maxSlots   = 1 << 40
	maxNSSlots = 1 << 32
	minNSSlots = 64
	nsMaxLoad  = 0.5
	hashNameSz = 32
)

// Header offsets. Static part: [0, hdrStaticEnd), covered by the CRC32C
// stored at offChecksum. Dynamic part: aligned u64 counters, outside the
// checksum, read and written with atomic operations.
const (
	offMagic      = 0   // [8]byte
	offVersion    = 8   // u32
	offSlotSize   = 12  // u32
	offCapacity   = 16  // u64, slots, power of two
	offNSCapacity = 24  // u64, namespace records, power of two
	offNSRecSize  = 32  // u32
	offMaxProbe   = 36  // u32
	offGeneration = 40  // u64
	offCreated    = 48  // u64, unix nanoseconds; identity of this file
	offSeed       = 56  // u64 tokenizer hash seed
	offWindow     = 64  // u32 tokenizer window
	offTokVersion = 68  // u32 tokenizer version
	offHashName   = 72  // [32]byte tokenizer hash name, NUL padded
	offChecksum   = 252 // u32 CRC32C (Castagnoli) of bytes [0, 252)
	hdrStaticEnd  = 256

	offUsed       = 256 // u64 occupied slots
	offNSUsed     = 264 // u64 occupied namespace records
	offAppliedSeq = 272 // u64 last journal sequence contained in this file
	offExpired    = 280 // u64 tokens expired over the life of the statistics
	offSuperseded = 288 // u64 1 once a newer file was renamed over this one
	offClean      = 296 // u64 1 when the last writer closed cleanly
	offSharedSpam = 304 // u64 spam messages learned, shared namespace
	offSharedHam  = 312 // u64 ham messages learned, shared namespace
	offTotalsSum  = 320 // u64 CRC32C of the shared totals and the namespace directory (version 2)
	hdrDynamicEnd = 328
)

// Namespace record offsets, relative to the start of the record.
const (
	nsKey     = 0  // u64 namespace id; 0 = empty record
	nsSpam    = 8  // u64 spam messages learned
	nsHam     = 16 // u64 ham messages learned
	nsNameLen = 24 // u64 length of name, 0 = unknown
	nsName    = 32 // [96]byte name
)

// Word indexes (in units of uint64) of the dynamic header fields, for
// atomic access through the []uint64 view of the mapping.
const (
	wUsed       = offUsed / 8
	wNSUsed     = offNSUsed / 8
	wAppliedSeq = offAppliedSeq / 8
	wExpired    = offExpired / 8
	wSuperseded = offSuperseded / 8
	wClean      = offClean / 8
	wSharedSpam = offSharedSpam / 8
	wSharedHam  = offSharedHam / 8
	wTotalsSum  = offTotalsSum / 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the decoded static part of the header.
type header struct {
	version    uint32
	slotSize   uint32
	capacity   uint64
	nsCapacity uint64
	nsRecSize  uint32
	maxProbe   uint32
	generation uint64
	created    uint64
	params     Params
	checksum   uint32
}

// fileSize returns the size in bytes of a statfile with the given table and
// namespace directory capacities.
func fileSize(capacity, nsCapacity uint64) int64 {
	return HeaderSize + int64(capacity)*SlotSize + int64(nsCapacity)*NSRecordSize
}

// encodeStatic writes the static header fields and their checksum into b,
// which must be at least HeaderSize bytes and zero beyond the static part.
func (h *header) encodeStatic(b []byte) {
	copy(b[offMagic:], Magic)
	le := binary.LittleEndian
	le.PutUint32(b[offVersion:], h.version)
	le.PutUint32(b[offSlotSize:], h.slotSize)
	le.PutUint64(b[offCapacity:], h.capacity)
	le.PutUint64(b[offNSCapacity:], h.nsCapacity)
	le.PutUint32(b[offNSRecSize:], h.nsRecSize)
	le.PutUint32(b[offMaxProbe:], h.maxProbe)
	le.PutUint64(b[offGeneration:], h.generation)
	le.PutUint64(b[offCreated:], h.created)
	le.PutUint64(b[offSeed:], h.params.Seed)
	le.PutUint32(b[offWindow:], uint32(h.params.Window))
	le.PutUint32(b[offTokVersion:], uint32(h.params.Version))
	name := make([]byte, hashNameSz)
	copy(name, h.params.Hash)
	copy(b[offHashName:], name)
	h.checksum = crc32.Checksum(b[:offChecksum], castagnoli)
	le.PutUint32(b[offChecksum:], h.checksum)
}

// decodeHeader reads and validates the static header. It checks magic,
// version, checksum and the geometry against size, the size of the file.
func decodeHeader(b []byte, size int64) (header, error) {
	var h header
	if len(b) < HeaderSize || size < HeaderSize {
		return h, ErrTruncated
	}
	if string(b[offMagic:offMagic+len(Magic)]) != Magic {
		return h, ErrNotStatfile
	}
	le := binary.LittleEndian
	h.version = le.Uint32(b[offVersion:])
	if h.version < minVersion || h.version > Version {
		return h, &VersionError{Got: h.version, Want: Version}
	}
	h.checksum = le.Uint32(b[offChecksum:])
	if sum := crc32.Checksum(b[:offChecksum], castagnoli); sum != h.checksum {
		return h, ErrChecksum
	}
	h.slotSize = le.Uint32(b[offSlotSize:])
	h.capacity = le.Uint64(b[offCapacity:])
	h.nsCapacity = le.Uint64(b[offNSCapacity:])
	h.nsRecSize = le.Uint32(b[offNSRecSize:])
	h.maxProbe = le.Uint32(b[offMaxProbe:])
	h.generation = le.Uint64(b[offGeneration:])
	h.created = le.Uint64(b[offCreated:])
	h.params.Seed = le.Uint64(b[offSeed:])
	h.params.Window = int(le.Uint32(b[offWindow:]))
	h.params.Version = int(le.Uint32(b[offTokVersion:]))
	name := b[offHashName : offHashName+hashNameSz]
	n := 0
	for n < len(name) && name[n] != 0 {
		n++
	}
	h.params.Hash = string(name[:n])
	switch {
	case h.slotSize != SlotSize || h.nsRecSize != NSRecordSize:
		return h, ErrGeometry
	case h.capacity < minSlots || bits.OnesCount64(h.capacity) != 1 || h.capacity > maxSlots:
		return h, ErrGeometry
	case h.nsCapacity < minNSSlots || bits.OnesCount64(h.nsCapacity) != 1 || h.nsCapacity > maxNSSlots:
		return h, ErrGeometry
	case h.maxProbe == 0 || uint64(h.maxProbe) > h.capacity:
		return h, ErrGeometry
	}
	if want := fileSize(h.capacity, h.nsCapacity); size != want {
		if size < want {
			return h, ErrTruncated
		}
		return h, ErrGeometry
	}
	return h, nil
}

// slotShift returns the shift that turns a key into its home slot:
// home = key >> shift (the top log2(capacity) bits of the mixed key).
func slotShift(capacity uint64) uint {
	return uint(64 - bits.TrailingZeros64(capacity))
}

// mixKey combines a token hash and a namespace into a table key with the
// murmur3 64-bit finalizer (a bijection, so distinct hashes in one
// namespace never collide). The result is never 0 (0 marks an empty slot).
func mixKey(h uint64, ns Namespace) uint64 {
	k := h ^ (uint64(ns) * 0x9e3779b97f4a7c15)
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	if k == 0 {
		k = 1
	}
	return k
}

// nsHome returns the home record of namespace ns in a directory of n records.
func nsHome(ns Namespace, n uint64) uint64 {
	return mixKey(uint64(ns), 0) & (n - 1)
}

// pack and unpack convert between Counts and the slot's count word:
// spam in the low 32 bits (bytes 8..11 of the slot), ham in the high 32.
func pack(c Counts) uint64     { return uint64(c.Spam) | uint64(c.Ham)<<32 }
func unpack(v uint64) Counts   { return Counts{Spam: uint32(v), Ham: uint32(v >> 32)} }
func isLittleEndian() bool     { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }
func ceilPow2(n uint64) uint64 { return 1 << bits.Len64(n-1) }
