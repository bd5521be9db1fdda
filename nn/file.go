package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"

	"github.com/sluicemail/sluice/internal/atomicfile"
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

// Unmarshal decodes and validates a network file. The network owns
// copies of everything it needs: b may be reused or changed afterwards.
func Unmarshal(b []byte) (*Network, error) { return decode(b, false) }

// layout is where a file's parts are, from its header.
type layout struct {
	hdr, in, hid, namesLen int
}

// decode validates b and builds the network it holds. With alias, the
// network's weight slices point into b instead of being copies when b's
// float area can be used in place (floatView): b must then be private to
// the network (Load's buffer).
func decode(b []byte, alias bool) (*Network, error) {
	l, err := checkLayout(b)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	n := &Network{
		Hidden:      l.hid,
		HiddenAct:   Activation(b[24]),
		OutAct:      Activation(b[25]),
		SpamSamples: le.Uint64(b[60:]),
		HamSamples:  le.Uint64(b[68:]),
		Epoch:       le.Uint64(b[76:]),
		Created:     time.Unix(0, int64(le.Uint64(b[84:]))),
	}
	copy(n.Digest[:], b[28:60])
	if n.Inputs, err = decodeNames(b[fixedHeader:fixedHeader+l.namesLen], l.in); err != nil {
		return nil, err
	}
	area := b[l.hdr : len(b)-4]
	var floats []float32
	if alias {
		floats = floatView(area)
	}
	if floats == nil {
		floats = decodeFloats(area)
	}
	n.setWeights(floats)
	if err := n.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return n, nil
}

// checkLayout checks the magic, version, length, checksum and sizes of a
// file and returns where its parts are.
func checkLayout(b []byte) (layout, error) {
	le := binary.LittleEndian
	if len(b) < fixedHeader+4 || string(b[:8]) != Magic {
		return layout{}, ErrFormat
	}
	if v := le.Uint32(b[8:]); v != Version {
		return layout{}, fmt.Errorf("%w: %d (this program reads %d)", ErrVersion, v, Version)
	}
	if size := le.Uint64(b[96:]); size != uint64(len(b)) {
		return layout{}, fmt.Errorf("%w: %d bytes, header says %d (truncated or appended to)", ErrSize, len(b), size)
	}
	if sum, want := crc32.Checksum(b[:len(b)-4], crcTable), le.Uint32(b[len(b)-4:]); sum != want {
		return layout{}, fmt.Errorf("%w: %08x, stored %08x", ErrChecksum, sum, want)
	}
	l := layout{hdr: int(le.Uint32(b[12:])), in: int(le.Uint32(b[16:])), hid: int(le.Uint32(b[20:])), namesLen: int(le.Uint32(b[92:]))}
	if l.in <= 0 || l.in > maxInputs || l.hid <= 0 || l.hid > maxHidden || l.namesLen > l.in*(1+maxNameLen) ||
		l.hdr != align4(fixedHeader+l.namesLen) {
		return layout{}, fmt.Errorf("%w: %d inputs, %d hidden, header %d bytes, names %d bytes", ErrSize, l.in, l.hid, l.hdr, l.namesLen)
	}
	if want := l.hdr + 4*l.floats() + 4; len(b) != want {
		return layout{}, fmt.Errorf("%w: %d bytes for %d inputs and %d hidden units, want %d", ErrSize, len(b), l.in, l.hid, want)
	}
	return l, nil
}

// floats is the number of float32s in the file: offset, scale, W1, b1,
// W2, b2.
func (l layout) floats() int { return 2*l.in + l.in*l.hid + 2*l.hid + 1 }

// decodeNames reads in length-prefixed names that must fill b exactly.
// The strings are copies, so the names never point into b.
func decodeNames(b []byte, in int) ([]string, error) {
	names := make([]string, 0, in)
	p := 0
	for len(names) < in {
		if p >= len(b) || p+1+int(b[p]) > len(b) {
			return nil, fmt.Errorf("%w: input names overrun their %d bytes", ErrInvalid, len(b))
		}
		names = append(names, string(b[p+1:p+1+int(b[p])]))
		p += 1 + int(b[p])
	}
	if p != len(b) {
		return nil, fmt.Errorf("%w: %d bytes left after the input names", ErrInvalid, len(b)-p)
	}
	return names, nil
}

// decodeFloats copies the little-endian float32s of b into Go memory.
func decodeFloats(b []byte) []float32 {
	s := make([]float32, len(b)/4)
	for i := range s {
		s[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return s
}

// setWeights cuts the file's float area into n's parameters, in file
// order. Each slice's capacity is its length, so an append to one
// reallocates instead of writing over its neighbour.
func (n *Network) setWeights(f []float32) {
	take := func(k int) []float32 {
		s := f[:k:k]
		f = f[k:]
		return s
	}
	in, hid := len(n.Inputs), n.Hidden
	n.Offset, n.Scale, n.W1, n.B1, n.W2 = take(in), take(in), take(in*hid), take(hid), take(hid)
	n.B2 = f[0]
}

// Save writes n to path atomically: a temporary file in the same
// directory, fsync, rename over path, fsync of the directory. A reader
// sees the old file or the new one, never a part. (Networks already
// loaded are private copies; the file can change under them without
// effect.)
func Save(path string, n *Network) (err error) {
	b, err := n.Marshal()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b, &atomicfile.Options{Perm: 0o644}); err != nil {
		return fmt.Errorf("nn: save: %w", err)
	}
	return nil
}
