package nn

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"unsafe"
)

// Load reads the network file at path into private memory and validates
// it, with the same checks as Unmarshal. The network owns its memory:
// nothing done to the file afterwards (a rewrite in place, a truncation, a
// NaN written over a weight) changes the network or can fault while it is
// in service; only a later Load sees the file again, and refuses it if it
// is not valid. On a little-endian host the weight slices are views of the
// buffer read (no second copy); elsewhere they are decoded copies.
func Load(path string) (*Network, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	n, err := decode(b, true)
	if err != nil {
		return nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return n, nil
}

// readFile reads the file at path after checking that its size can be a
// network file: the memory is bounded by maxFileSize before it is
// allocated. A file that shrinks while it is read is refused with ErrSize;
// one that grows or changes is caught by decode's length and checksum
// checks.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	size := st.Size()
	switch {
	case size > maxFileSize:
		return nil, fmt.Errorf("nn: load %s: %w: %d bytes", path, ErrSize, size)
	case size < fixedHeader+4:
		return nil, fmt.Errorf("nn: load %s: %w: %d bytes", path, ErrFormat, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, fmt.Errorf("nn: load %s: %w: the file shrank while it was read", path, ErrSize)
		}
		return nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return b, nil
}

// floatView returns the float32s stored in b without copying them: b
// itself, reinterpreted. That needs a host that stores a float32 in the
// file's byte order (little-endian) and b starting on a 4-byte boundary
// (the float area starts at the header length, a multiple of 4, of a
// buffer the allocator aligns to at least 8). It returns nil when b cannot
// be used in place, and the caller decodes a copy. The view keeps b's
// memory alive; b must not be written afterwards.
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
