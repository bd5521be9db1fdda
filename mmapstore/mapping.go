package mmapstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"sync/atomic"
	"unsafe"
)

// mapping is one mapped statfile: the header, the slot table and the
// namespace directory, viewed as aligned uint64 words for atomic access.
//
// A mapping is reference counted. The owner (a Reader or a Writer) holds
// one reference; every lookup batch holds one more. The memory is unmapped
// when the count drops to zero, and a count that reached zero never rises
// again (tryRef fails), so no lookup can start on unmapped memory.
type mapping struct {
	data     []byte
	words    []uint64 // data as little-endian words (the host is little-endian)
	slots    []uint64 // 2 words per slot: key, packed counts
	nsdir    []uint64 // NSRecordSize/8 words per namespace record
	hdr      header
	shift    uint
	mask     uint64
	nsMask   uint64
	maxProbe uint64
	dev, ino uint64
	refs     atomic.Int64
	broken   atomic.Bool // a Reader found the file shrunk under this mapping
}

const nsWords = NSRecordSize / 8

// openMapping opens path, validates its header and maps it.
func openMapping(path string, writable bool) (*mapping, error) {
	if !supportedPlatform || !isLittleEndian() {
		return nil, ErrUnsupported
	}
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mapOpenFile(f, writable)
}

func mapOpenFile(f *os.File, writable bool) (*mapping, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < HeaderSize {
		return nil, ErrTruncated
	}
	buf := make([]byte, HeaderSize)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	h, err := decodeHeader(buf, size)
	if err != nil {
		return nil, err
	}
	if size > math.MaxInt {
		return nil, ErrGeometry
	}
	data, err := mmapFile(f, size, writable)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	m := newMapping(data, h)
	m.dev, m.ino = fileIdentity(fi)
	return m, nil
}

func newMapping(data []byte, h header) *mapping {
	words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/8)
	tableEnd := HeaderSize/8 + 2*h.capacity
	m := &mapping{
		data:     data,
		words:    words,
		slots:    words[HeaderSize/8 : tableEnd : tableEnd],
		nsdir:    words[tableEnd : tableEnd+h.nsCapacity*nsWords],
		hdr:      h,
		shift:    slotShift(h.capacity),
		mask:     h.capacity - 1,
		nsMask:   h.nsCapacity - 1,
		maxProbe: uint64(h.maxProbe),
	}
	m.refs.Store(1)
	return m
}

// tryRef takes a reference unless the mapping is already released.
func (m *mapping) tryRef() bool {
	for {
		n := m.refs.Load()
		if n <= 0 {
			return false
		}
		if m.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference and unmaps the memory after the last one.
func (m *mapping) release() error {
	if m.refs.Add(-1) == 0 {
		return munmap(m.data)
	}
	return nil
}

// contains reports whether addr lies inside the mapped memory.
func (m *mapping) contains(addr uintptr) bool {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
	return addr >= base && addr-base < uintptr(len(m.data))
}

func (m *mapping) load(w int) uint64            { return atomic.LoadUint64(&m.words[w]) }
func (m *mapping) store(w int, v uint64)        { atomic.StoreUint64(&m.words[w], v) }
func (m *mapping) superseded() bool             { return m.load(wSuperseded) != 0 }
func (m *mapping) limit(maxLoad float64) uint64 { return uint64(float64(m.hdr.capacity) * maxLoad) }

// get returns the packed counts of key k, 0 if absent. Readers load the
// key, then the counts, then the key again: a slot's key never changes
// once written, so a mismatch means memory was not what it should be and
// the token is reported absent rather than with foreign counts.
func (m *mapping) get(k uint64) uint64 {
	slots := m.slots
	idx := k >> m.shift
	for p := uint64(0); p < m.maxProbe; p++ {
		sk := atomic.LoadUint64(&slots[2*idx])
		if sk == k {
			v := atomic.LoadUint64(&slots[2*idx+1])
			if atomic.LoadUint64(&slots[2*idx]) != k {
				return 0
			}
			return v
		}
		if sk == 0 {
			return 0
		}
		idx = (idx + 1) & m.mask
	}
	return 0
}

// lookupBatch is how many lookups are started together: their first
// probes are independent loads, so the CPU overlaps their cache misses.
const lookupBatch = 16

// lookup fills out with the counts of hashes in ns and returns ns's totals.
//
// Keys are looked up in groups of lookupBatch: a first pass loads the home
// slot's key of every key in the group (loads that do not depend on each
// other, so a table much larger than the cache costs about one memory
// latency per group rather than one per key); the second pass finishes
// each lookup from there, usually without another miss.
func (m *mapping) lookup(ns Namespace, hashes []uint64, out []Counts) Totals {
	out = out[:len(hashes)]
	var keys, first [lookupBatch]uint64
	slots := m.slots
	for base := 0; base < len(hashes); base += lookupBatch {
		n := min(lookupBatch, len(hashes)-base)
		for j := 0; j < n; j++ {
			k := mixKey(hashes[base+j], ns)
			keys[j] = k
			first[j] = atomic.LoadUint64(&slots[2*(k>>m.shift)])
		}
		for j := 0; j < n; j++ {
			switch k := keys[j]; first[j] {
			case 0:
				out[base+j] = Counts{} // the home slot is empty: absent
			default:
				out[base+j] = unpack(m.get(k))
			}
		}
	}
	return m.totals(ns)
}

// find returns the slot holding k (found) or the first empty slot on k's
// probe path (ok, !found). ok is false when neither is within maxProbe.
func (m *mapping) find(k uint64) (idx uint64, found, ok bool) {
	idx = k >> m.shift
	for p := uint64(0); p < m.maxProbe; p++ {
		sk := m.slots[2*idx]
		if sk == k {
			return idx, true, true
		}
		if sk == 0 {
			return idx, false, true
		}
		idx = (idx + 1) & m.mask
	}
	return 0, false, false
}

// set writes slot idx. A new key gets its counts first and its key last,
// each an aligned atomic store, so a reader that sees the key sees the
// counts. Only the writer calls set.
func (m *mapping) set(idx, k, v uint64, isNew bool) {
	atomic.StoreUint64(&m.slots[2*idx+1], v)
	if isNew {
		atomic.StoreUint64(&m.slots[2*idx], k)
		m.store(wUsed, m.load(wUsed)+1)
	}
}

// totals returns the learn totals of ns.
func (m *mapping) totals(ns Namespace) Totals {
	if ns == Shared {
		return Totals{Spam: m.load(wSharedSpam), Ham: m.load(wSharedHam)}
	}
	i, found := m.nsFind(ns)
	if !found {
		return Totals{}
	}
	r := m.nsdir[i*nsWords:]
	return Totals{Spam: atomic.LoadUint64(&r[nsSpam/8]), Ham: atomic.LoadUint64(&r[nsHam/8])}
}

// nsFind returns the record of ns, or the first empty record on its path.
// The directory is kept at most half full, so an empty record exists.
func (m *mapping) nsFind(ns Namespace) (idx uint64, found bool) {
	idx = nsHome(ns, m.hdr.nsCapacity)
	for p := uint64(0); p < m.hdr.nsCapacity; p++ {
		k := atomic.LoadUint64(&m.nsdir[idx*nsWords])
		if k == uint64(ns) {
			return idx, true
		}
		if k == 0 {
			return idx, false
		}
		idx = (idx + 1) & m.nsMask
	}
	return 0, false
}

// nsName returns the stored name of record idx.
func (m *mapping) nsName(idx uint64) string {
	n := atomic.LoadUint64(&m.nsdir[idx*nsWords+nsNameLen/8])
	if n > MaxNameLen {
		n = MaxNameLen
	}
	off := int(HeaderSize + m.hdr.capacity*SlotSize + idx*NSRecordSize + nsName)
	return string(m.data[off : off+int(n)])
}

// setTotals writes the totals (and the name, if unknown yet) of ns. A new
// record is filled before its key is stored. Only the writer calls it.
func (m *mapping) setTotals(ns Namespace, t Totals, name string) {
	if ns == Shared {
		m.store(wSharedSpam, t.Spam)
		m.store(wSharedHam, t.Ham)
		return
	}
	idx, found := m.nsFind(ns)
	r := m.nsdir[idx*nsWords : (idx+1)*nsWords]
	atomic.StoreUint64(&r[nsSpam/8], t.Spam)
	atomic.StoreUint64(&r[nsHam/8], t.Ham)
	if name != "" && atomic.LoadUint64(&r[nsNameLen/8]) == 0 {
		if len(name) > MaxNameLen {
			name = name[:MaxNameLen]
		}
		off := int(HeaderSize + m.hdr.capacity*SlotSize + idx*NSRecordSize + nsName)
		copy(m.data[off:off+MaxNameLen], name)
		atomic.StoreUint64(&r[nsNameLen/8], uint64(len(name)))
	}
	if !found {
		atomic.StoreUint64(&r[nsKey/8], uint64(ns))
		m.store(wNSUsed, m.load(wNSUsed)+1)
	}
}

// totalsSum returns the CRC32C of the learn totals: the shared totals in
// the header and the whole namespace directory (ids, totals, names). The
// writer stores it at offTotalsSum (seal) after every change of the
// totals, so a bit flipped in them outside the writer is noticed.
func (m *mapping) totalsSum() uint32 {
	nsStart := HeaderSize + m.hdr.capacity*SlotSize
	sum := crc32.Checksum(m.data[offSharedSpam:offSharedHam+8], castagnoli)
	return crc32.Update(sum, castagnoli, m.data[nsStart:nsStart+m.hdr.nsCapacity*NSRecordSize])
}

// seal stores the checksum of the current totals and returns it. Only the
// writer calls it.
func (m *mapping) seal() uint32 {
	sum := m.totalsSum()
	m.store(wTotalsSum, uint64(sum))
	return sum
}

// sealed reports whether the stored totals checksum matches the totals.
// A version 1 file has none: it reports true.
func (m *mapping) sealed() bool {
	return m.hdr.version < 2 || m.load(wTotalsSum) == uint64(m.totalsSum())
}

// recount sets the used counters from the table (after an unclean close).
func (m *mapping) recount() (used, nsUsed uint64) {
	for i := uint64(0); i < m.hdr.capacity; i++ {
		if m.slots[2*i] != 0 {
			used++
		}
	}
	for i := uint64(0); i < m.hdr.nsCapacity; i++ {
		if m.nsdir[i*nsWords] != 0 {
			nsUsed++
		}
	}
	m.store(wUsed, used)
	m.store(wNSUsed, nsUsed)
	return used, nsUsed
}

// liveNamespaces counts the directory's records that hold learns: what a
// rebuild keeps.
func (m *mapping) liveNamespaces() uint64 {
	var n uint64
	for i := uint64(0); i < m.hdr.nsCapacity; i++ {
		r := m.nsdir[i*nsWords : (i+1)*nsWords]
		if atomic.LoadUint64(&r[nsKey/8]) != 0 && (atomic.LoadUint64(&r[nsSpam/8]) != 0 || atomic.LoadUint64(&r[nsHam/8]) != 0) {
			n++
		}
	}
	return n
}
