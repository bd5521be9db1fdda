package tokenizer

import (
	"encoding/binary"
	"math/bits"
)

// XXH64 primes.
const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// xxh64 is standard XXH64 of b with the given seed (the short-input path of
// github.com/cespare/xxhash/v2 with a seed; a test checks it against
// xxhash.Digest). Written out because the package has no seeded one-shot
// function and words are hashed millions of times.
func xxh64(b []byte, seed uint64) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		v1 := seed + prime1 + prime2
		v2 := seed + prime2
		v3 := seed
		v4 := seed - prime1
		for len(b) >= 32 {
			v1 = round(v1, binary.LittleEndian.Uint64(b[0:8]))
			v2 = round(v2, binary.LittleEndian.Uint64(b[8:16]))
			v3 = round(v3, binary.LittleEndian.Uint64(b[16:24]))
			v4 = round(v4, binary.LittleEndian.Uint64(b[24:32]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = mergeRound(h, v1)
		h = mergeRound(h, v2)
		h = mergeRound(h, v3)
		h = mergeRound(h, v4)
	} else {
		h = seed + prime5
	}
	h += uint64(n)
	for ; len(b) >= 8; b = b[8:] {
		k1 := round(0, binary.LittleEndian.Uint64(b[:8]))
		h ^= k1
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b[:4])) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		b = b[4:]
	}
	for ; len(b) > 0; b = b[1:] {
		h ^= uint64(b[0]) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	return avalanche(h)
}

func round(acc, input uint64) uint64 {
	acc += input * prime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * prime1
}

func mergeRound(acc, val uint64) uint64 {
	val = round(0, val)
	acc ^= val
	return acc*prime1 + prime4
}

// avalanche is the XXH64 final mix.
func avalanche(h uint64) uint64 {
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}

// pairMul[d] is the odd multiplier of the older word at distance d.
var pairMul = func() (m [MaxWindow]uint64) {
	for d := range m {
		m[d] = avalanche(uint64(d)+prime5) | 1
	}
	return m
}()

// pairHash combines the hashes of an older and a newer word d apart:
// avalanche(newer + older*M[d]). Order and distance both change the result.
func pairHash(older, newer uint64, d int) uint64 {
	return avalanche(newer + older*pairMul[d])
}

// tokenSet maps token hashes to their index in the token list: open
// addressing over a power-of-two prefix of slots. Slots carry a generation
// so that resetting is O(1); each message starts with a small prefix so
// that a typical message stays in cache even after a huge one grew the
// backing array.
type tokenSet struct {
	slots []setSlot
	size  int // slots in use, a power of two
	gen   uint32
	n     int
	tmp   []setSlot
}

type setSlot struct {
	key uint64
	gen uint32
	idx int32
}

const setMinSize = 1 << 12

func (s *tokenSet) reset() {
	s.bump()
	s.n = 0
	s.size = setMinSize
	if len(s.slots) > 1<<16 { // give back memory after a huge message
		s.slots = nil
	}
	if len(s.slots) < s.size {
		s.slots = make([]setSlot, s.size)
	}
}

func (s *tokenSet) bump() {
	s.gen++
	if s.gen == 0 { // wrapped: clear for real
		clear(s.slots)
		s.gen = 1
	}
}

// reserve makes room for n more keys without growing step by step.
func (s *tokenSet) reserve(n int) {
	for 2*(s.n+n) > s.size && s.size < 1<<22 {
		s.grow()
	}
}

// insert returns the index stored for key, or stores idx and returns -1.
func (s *tokenSet) insert(key uint64, idx int) int {
	if 2*(s.n+1) > s.size {
		s.grow()
	}
	mask := uint64(s.size - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.gen != s.gen {
			*sl = setSlot{key: key, gen: s.gen, idx: int32(idx)}
			s.n++
			return -1
		}
		if sl.key == key {
			return int(sl.idx)
		}
	}
}

func (s *tokenSet) grow() {
	s.tmp = s.tmp[:0]
	for _, sl := range s.slots[:s.size] {
		if sl.gen == s.gen {
			s.tmp = append(s.tmp, sl)
		}
	}
	s.bump()
	s.size *= 2
	if len(s.slots) < s.size {
		s.slots = make([]setSlot, s.size)
	}
	mask := uint64(s.size - 1)
	for _, sl := range s.tmp {
		i := sl.key & mask
		for s.slots[i].gen == s.gen {
			i = (i + 1) & mask
		}
		sl.gen = s.gen
		s.slots[i] = sl
	}
	if cap(s.tmp) > 1<<16 {
		s.tmp = nil
	}
}
