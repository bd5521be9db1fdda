package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"time"
)

// File format constants.
const (
	Magic   = "SLUICENN"
	Version = 1

	fixedHeader = 104 // bytes before the names
	maxInputs   = 4096
	maxHidden   = 4096
	maxNameLen  = 255
	maxFileSize = 64 << 20
)

// Errors a bad file is refused with (wrapped with details).
var (
	ErrFormat   = errors.New("nn: not a network file")
	ErrVersion  = errors.New("nn: unsupported network file version")
	ErrChecksum = errors.New("nn: network file checksum mismatch")
	ErrSize     = errors.New("nn: network file has the wrong size")
	ErrInvalid  = errors.New("nn: invalid network")
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Marshal encodes n in the file format.
func (n *Network) Marshal() ([]byte, error) {
	if err := n.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	in, hid := len(n.Inputs), n.Hidden
	namesLen := 0
	for _, s := range n.Inputs {
		namesLen += 1 + len(s)
	}
	hdr := align4(fixedHeader + namesLen)
	floats := 2*in + in*hid + 2*hid + 1
	b := make([]byte, hdr+4*floats+4)
	copy(b[0:8], Magic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], Version)
	le.PutUint32(b[12:], uint32(hdr))
	le.PutUint32(b[16:], uint32(in))
	le.PutUint32(b[20:], uint32(hid))
	b[24], b[25] = byte(n.HiddenAct), byte(n.OutAct)
	copy(b[28:60], n.Digest[:])
	le.PutUint64(b[60:], n.SpamSamples)
	le.PutUint64(b[68:], n.HamSamples)
	le.PutUint64(b[76:], n.Epoch)
	le.PutUint64(b[84:], uint64(n.Created.UnixNano()))
	le.PutUint32(b[92:], uint32(namesLen))
	le.PutUint64(b[96:], uint64(len(b)))
	p := fixedHeader
	for _, s := range n.Inputs {
		b[p] = byte(len(s))
		copy(b[p+1:], s)
		p += 1 + len(s)
	}
	p = hdr
	for _, s := range [][]float32{n.Offset, n.Scale, n.W1, n.B1, n.W2, {n.B2}} {
		for _, v := range s {
			le.PutUint32(b[p:], math.Float32bits(v))
			p += 4
		}
	}
	le.PutUint32(b[p:], crc32.Checksum(b[:p], crcTable))
	return b, nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// Unmarshal decodes and validates a network file.
func Unmarshal(b []byte) (*Network, error) {
	le := binary.LittleEndian
	if len(b) < fixedHeader+4 || string(b[:8]) != Magic {
		return nil, ErrFormat
	}
	if v := le.Uint32(b[8:]); v != Version {
		return nil, fmt.Errorf("%w: %d (this program reads %d)", ErrVersion, v, Version)
	}
	if size := le.Uint64(b[96:]); size != uint64(len(b)) {
		return nil, fmt.Errorf("%w: %d bytes, header says %d (truncated or appended to)", ErrSize, len(b), size)
	}
	if sum, want := crc32.Checksum(b[:len(b)-4], crcTable), le.Uint32(b[len(b)-4:]); sum != want {
		return nil, fmt.Errorf("%w: %08x, stored %08x", ErrChecksum, sum, want)
	}
	hdr, in, hid := int(le.Uint32(b[12:])), int(le.Uint32(b[16:])), int(le.Uint32(b[20:]))
	namesLen := int(le.Uint32(b[92:]))
	if in <= 0 || in > maxInputs || hid <= 0 || hid > maxHidden || namesLen > in*(1+maxNameLen) ||
		hdr != align4(fixedHeader+namesLen) {
		return nil, fmt.Errorf("%w: %d inputs, %d hidden, header %d bytes, names %d bytes", ErrSize, in, hid, hdr, namesLen)
	}
	floats := 2*in + in*hid + 2*hid + 1
	if len(b) != hdr+4*floats+4 {
		return nil, fmt.Errorf("%w: %d bytes for %d inputs and %d hidden units, want %d", ErrSize, len(b), in, hid, hdr+4*floats+4)
	}
	n := &Network{
		Hidden:      hid,
		HiddenAct:   Activation(b[24]),
		OutAct:      Activation(b[25]),
		SpamSamples: le.Uint64(b[60:]),
		HamSamples:  le.Uint64(b[68:]),
		Epoch:       le.Uint64(b[76:]),
		Created:     time.Unix(0, int64(le.Uint64(b[84:]))),
	}
	copy(n.Digest[:], b[28:60])
	p, end := fixedHeader, fixedHeader+namesLen
	for len(n.Inputs) < in {
		if p >= end || p+1+int(b[p]) > end {
			return nil, fmt.Errorf("%w: input names overrun their %d bytes", ErrInvalid, namesLen)
		}
		n.Inputs = append(n.Inputs, string(b[p+1:p+1+int(b[p])]))
		p += 1 + int(b[p])
	}
	if p != end {
		return nil, fmt.Errorf("%w: %d bytes left after the input names", ErrInvalid, end-p)
	}
	p = hdr
	next := func(k int) []float32 {
		s := make([]float32, k)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(b[p:]))
			p += 4
		}
		return s
	}
	n.Offset, n.Scale, n.W1, n.B1, n.W2 = next(in), next(in), next(in*hid), next(hid), next(hid)
	n.B2 = next(1)[0]
	if err := n.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return n, nil
}

// Load reads and validates the network file at path.
func Load(path string) (*Network, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("nn: load: %w", err)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("nn: load %s: %w: %d bytes", path, ErrSize, st.Size())
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	n, err := Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("nn: load %s: %w", path, err)
	}
	return n, nil
}

// Save writes n to path atomically: a temporary file in the same
// directory, fsync, rename over path, fsync of the directory. A reader
// sees the old file or the new one, never a part.
func Save(path string, n *Network) (err error) {
	b, err := n.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("nn: save: sync directory: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("nn: save: sync directory: %w", err)
	}
	return nil
}
