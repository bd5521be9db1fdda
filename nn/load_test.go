package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// random is a network of the given shape with weights from seed; its
// Epoch is the seed, so that tests can tell networks apart.
func random(in, hid int, seed uint64) *Network {
	rng := rand.New(rand.NewPCG(seed, 11))
	f := func(k int) []float32 {
		s := make([]float32, k)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	names := make([]string, in)
	for i := range names {
		names[i] = fmt.Sprintf("RULE_%d", i)
	}
	n := &Network{
		Inputs: names, Digest: InputDigest(names), Hidden: hid, HiddenAct: ReLU, OutAct: Tanh,
		Offset: f(in), Scale: f(in), W1: f(in * hid), B1: f(hid), W2: f(hid), B2: float32(rng.NormFloat64()),
		Epoch: seed, Created: time.Unix(1700000000, 0),
	}
	if err := n.check(); err != nil {
		panic(err)
	}
	return n
}

// inputs is a few input vectors for n.
func inputs(n *Network, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 13))
	xs := make([][]float32, 8)
	for k := range xs {
		xs[k] = make([]float32, len(n.Inputs))
		for i := range xs[k] {
			xs[k][i] = float32(rng.Float64())
		}
	}
	return xs
}

func TestLoad(t *testing.T) {
	for _, c := range []struct {
		name string
		net  *Network
	}{
		{"tiny", tiny()}, // a 108-byte header: floats aligned to 4, not 8
		{"100x150", random(100, 150, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "net.nn")
			if err := Save(path, c.net); err != nil {
				t.Fatal(err)
			}
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range inputs(c.net, 1) {
				if got, want := m.Forward(x), c.net.Forward(x); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("Forward = %v, in memory %v", got, want)
				}
			}
			// The copying path a big-endian host takes gives the same.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			copied, err := decode(b, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range inputs(c.net, 2) {
				if got, want := copied.Forward(x), m.Forward(x); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("copied Forward = %v, viewed %v", got, want)
				}
			}
		})
	}
}

// nanAt writes a NaN over the float32 at byte offset off of the file at
// path, in place (same inode, same size); with fixCRC it also rewrites the
// checksum so that only the weight check can refuse the file.
func nanAt(t testing.TB, path string, off int64, fixCRC bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var nan [4]byte
	binary.LittleEndian.PutUint32(nan[:], math.Float32bits(float32(math.NaN())))
	if _, err := f.WriteAt(nan[:], off); err != nil {
		t.Fatal(err)
	}
	if fixCRC {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var sum [4]byte
		binary.LittleEndian.PutUint32(sum[:], crc32.Checksum(b[:len(b)-4], crcTable))
		if _, err := f.WriteAt(sum[:], int64(len(b)-4)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInPlaceWrite changes the file of a loaded network in place (what
// cp over it, or a stray write, does): a NaN over a weight, with and
// without a matching checksum, and truncations. The loaded network must
// not change, and loading the changed file must be refused.
func TestInPlaceWrite(t *testing.T) {
	net := random(100, 150, 3)
	b, err := net.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hdr := int64(binary.LittleEndian.Uint32(b[12:])) // where the floats start: Offset[0]
	for _, c := range []struct {
		name   string
		change func(t *testing.T, path string)
		want   error
	}{
		{"NaN weight", func(t *testing.T, path string) { nanAt(t, path, hdr+4*300, false) }, ErrChecksum},
		{"NaN weight, checksum fixed", func(t *testing.T, path string) { nanAt(t, path, hdr+4*300, true) }, ErrInvalid},
		{"NaN offset, checksum fixed", func(t *testing.T, path string) { nanAt(t, path, hdr, true) }, ErrInvalid},
		{"truncated to a page", func(t *testing.T, path string) {
			if err := os.Truncate(path, int64(os.Getpagesize())); err != nil {
				t.Fatal(err)
			}
		}, ErrSize},
		{"truncated to nothing", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, ErrFormat},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "net.nn")
			if err := Save(path, net); err != nil {
				t.Fatal(err)
			}
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			xs := inputs(net, 4)
			before := make([]float64, len(xs))
			for i, x := range xs {
				before[i] = m.Forward(x)
			}
			c.change(t, path)
			runtime.GC()
			for i, x := range xs {
				if got := m.Forward(x); math.Float64bits(got) != math.Float64bits(before[i]) {
					t.Fatalf("after the file changed in place, Forward = %v, was %v", got, before[i])
				}
			}
			if n, err := Load(path); !errors.Is(err, c.want) {
				t.Fatalf("Load of the changed file: %v, %v; want %v", n, err, c.want)
			} else {
				t.Log(err)
			}
		})
	}
}

// TestReplacedWhileInUse replaces the network in service 200 times, as a
// Watcher does, while readers run Forward on whatever network they took,
// and collects garbage all along: a network a reader took stays what it
// was, whatever happens to the file and to the other networks.
func TestReplacedWhileInUse(t *testing.T) {
	const loads, readers = 200, 4
	path := filepath.Join(t.TempDir(), "net.nn")
	nets := make([]*Network, loads) // in memory; Epoch i is nets[i]
	for i := range nets {
		nets[i] = random(20, 30, uint64(i))
	}
	x := inputs(nets[0], 2)[0]
	want := make([]float64, loads)
	for i, n := range nets {
		want[i] = n.Forward(x)
	}
	var cur atomic.Pointer[Network]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var forwards atomic.Int64
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := cur.Load()
				if n == nil {
					runtime.Gosched()
					continue
				}
				// Not a mention of n after Forward: Forward alone must
				// keep its network alive.
				epoch := n.Epoch
				if got := n.Forward(x); got != want[epoch] {
					t.Errorf("network %d: Forward = %v, want %v", epoch, got, want[epoch])
					return
				}
				forwards.Add(1)
				runtime.Gosched() // let the loader run on a machine with few CPUs
			}
		})
	}
	for i, n := range nets {
		publish(t, path, n)
		m, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		cur.Store(m)
		if i%4 == 0 {
			runtime.GC()
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d loads, %d Forward calls", loads, forwards.Load())
}

// publish replaces the file at path by rename, like Save but without
// its fsyncs, which are slow on some disks and prove nothing here.
func publish(t *testing.T, path string, n *Network) {
	t.Helper()
	b, err := n.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLoad measures Load (the file read into private memory, the
// weights viewed in place) against reading and Unmarshal (a second copy of
// the weights, the big-endian path).
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "net.nn")
	if err := Save(path, random(100, 150, 1)); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		load func() (*Network, error)
	}{
		{"read", func() (*Network, error) { return Load(path) }},
		{"read-unmarshal", func() (*Network, error) {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			return Unmarshal(data)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.load(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
