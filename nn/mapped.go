package nn

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/edsrzf/mmap-go"
)

// load maps the file at path read-only and decodes it. With alias, the
// network keeps the mapping when its float area can be used in place (see
// floatView): its weight slices then point into the mapping, and a cleanup
// attached to the network unmaps it once the network is unreachable.
// Otherwise — the file is refused, or the floats were copied (a big-endian
// host, a misaligned area, or alias false) — the mapping is released
// before load returns. Load passes alias true; tests pass false to run
// the copying path a big-endian host takes.
func load(path string, alias bool) (*Network, error) {
	m, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	n, err := decodeMapped(m, alias)
	if err != nil || !n.mapped {
		// Nothing points into the mapping any more. Unmap fails only
		// for a slice that Map did not return, and m is one it did.
		_ = m.Unmap()
		if err != nil {
			return nil, fmt.Errorf("nn: load %s: %w", path, err)
		}
		return n, nil
	}
	// The cleanup's argument is the mapping, not n: a cleanup that could
	// reach n would keep it alive forever.
	runtime.AddCleanup(n, unmap, m)
	return n, nil
}

// unmap is the cleanup of a mapped Network. It runs when nothing can
// reach the network any more, so nothing reads the mapping. There is no
// one to report an error to, and Unmap only fails for a slice that Map
// did not return.
func unmap(m mmap.MMap) { _ = m.Unmap() }

// mapFile maps the file at path read-only, after checking that its size
// can be a network file. The descriptor is closed on return; the mapping
// does not need it.
func mapFile(path string) (mmap.MMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	switch size := st.Size(); {
	case size > maxFileSize:
		return nil, fmt.Errorf("nn: load %s: %w: %d bytes", path, ErrSize, size)
	case size < fixedHeader+4:
		// Too short to be a network (Unmarshal says the same); and mmap
		// refuses an empty file.
		return nil, fmt.Errorf("nn: load %s: %w: %d bytes", path, ErrFormat, size)
	}
	// MapRegion with the size just checked rather than Map, which would
	// stat the file again: the length mapped is the length checked.
	m, err := mmap.MapRegion(f, int(st.Size()), mmap.RDONLY, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("nn: load %s: mmap: %w", path, err)
	}
	return m, nil
}

// decodeMapped is decode over a file mapping, with memory faults turned
// into an error. If the file is truncated in place while it is mapped
// (not replaced by rename, as Save does), reading a page past its new end
// raises SIGBUS, which would otherwise kill the process; here it refuses
// the file instead. Only this validation is protected: a file truncated
// after Load returned can still fault in Forward, which is why files must
// be replaced by rename.
func decodeMapped(m mmap.MMap, alias bool) (n *Network, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		fault, ok := r.(interface{ Addr() uintptr })
		if !ok {
			panic(r)
		}
		n, err = nil, fmt.Errorf("%w: the file shrank while it was read (reading its mapping at %#x faulted)", ErrSize, fault.Addr())
	}()
	return decode(m, alias)
}

// floatView returns the float32s stored in b without copying them: b
// itself, reinterpreted. That needs a host that stores a float32 in the
// file's byte order (little-endian) and b starting on a 4-byte boundary.
// For a file mapping, the mapping starts on a page and the float area at
// the header length, a multiple of 4, so only the byte order can fail; the
// alignment is checked all the same. It returns nil when b cannot be used
// in place, and the caller decodes a copy.
func floatView(b []byte) []float32 {
	p := unsafe.SliceData(b)
	if len(b) < 4 || !littleEndianHost() || uintptr(unsafe.Pointer(p))%unsafe.Alignof(float32(0)) != 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(p)), len(b)/4)
}

// littleEndianHost reports whether this host stores numbers
// little-endian, as the file does. It depends only on the build's
// architecture (the compiler folds it to a constant).
func littleEndianHost() bool {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], 1)
	return b[0] == 1
}
