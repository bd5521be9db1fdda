package nn

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
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

// span is an address range [lo, hi).
type span struct{ lo, hi uintptr }

func (s span) contains(o span) bool { return s.lo <= o.lo && o.hi <= s.hi }

func spanOf(s []float32) span {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return span{lo, lo + uintptr(len(s))*4}
}

// mappingsOf lists the mappings of the file at path in this process, from
// /proc/self/maps (a file replaced by rename shows as "path (deleted)").
// It skips the test where there is no /proc/self/maps.
func mappingsOf(t testing.TB, path string) []span {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps on %s: %v", runtime.GOOS, err)
	}
	defer f.Close()
	var out []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasSuffix(line, " "+path) && !strings.HasSuffix(line, " "+path+" (deleted)") {
			continue
		}
		lo, hi, _ := strings.Cut(strings.Fields(line)[0], "-")
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("/proc/self/maps: %q", line)
		}
		out = append(out, span{uintptr(l), uintptr(h)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// collectUntil runs the collector until cond holds, for at most 100
// rounds: cleanups run on their own goroutine some time after a
// collection, so one round may not be enough. The rounds bound the wait,
// not a timing.
func collectUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 100 {
		runtime.GC()
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("after 100 collections: %s", what)
}

func TestLoadMapsTheFile(t *testing.T) {
	for _, c := range []struct {
		name  string
		net   *Network
		alias bool // load(path, alias): false is the big-endian path
	}{
		{"tiny", tiny(), true}, // a 108-byte header: floats aligned to 4, not 8
		{"tiny copied", tiny(), false},
		{"100x150", random(100, 150, 1), true},
		{"100x150 copied", random(100, 150, 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "net.nn")
			if err := Save(path, c.net); err != nil {
				t.Fatal(err)
			}
			m, err := load(path, c.alias)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range inputs(c.net, 1) {
				if got, want := m.Forward(x), c.net.Forward(x); math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("Forward = %v, in memory %v", got, want)
				}
			}
			if want := c.alias && littleEndianHost(); m.mapped != want {
				t.Fatalf("mapped = %v, want %v", m.mapped, want)
			}
			maps := mappingsOf(t, path)
			if !m.mapped {
				if len(maps) != 0 {
					t.Fatalf("a copied network left the file mapped: %v", maps)
				}
				return
			}
			for name, s := range map[string][]float32{"Offset": m.Offset, "Scale": m.Scale, "W1": m.W1, "B1": m.B1, "W2": m.W2} {
				if !inAny(maps, spanOf(s)) {
					t.Errorf("%s at %x is not in a mapping of the file %x", name, spanOf(s), maps)
				}
			}
			runtime.KeepAlive(m)
		})
	}
}

func inAny(spans []span, s span) bool {
	for _, m := range spans {
		if m.contains(s) {
			return true
		}
	}
	return false
}

// TestTruncatedWhileMapped truncates a mapped file in place (what a cp
// over it does) before it is validated: reading the lost pages faults,
// and the file must be refused instead of the process killed.
func TestTruncatedWhileMapped(t *testing.T) {
	page := int64(os.Getpagesize())
	for _, c := range []struct {
		name string
		size int64 // truncated to
	}{
		{"to nothing", 0},
		{"to a page", page},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "net.nn")
			if err := Save(path, random(100, 150, 3)); err != nil { // about 15 pages
				t.Fatal(err)
			}
			m, err := mapFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Unmap()
			if err := os.Truncate(path, c.size); err != nil {
				t.Fatal(err)
			}
			if n, err := decodeMapped(m, true); !errors.Is(err, ErrSize) {
				t.Fatalf("decoding a truncated mapping: %v, %v; want %v", n, err, ErrSize)
			} else {
				t.Log(err)
			}
		})
	}
}

// TestMappedLifetime replaces the network in service 200 times, as a
// Watcher does, while readers run Forward on whatever network they took,
// and collects garbage all along: a network's mapping must outlive every
// Forward on it, and be unmapped once the network is dropped.
func TestMappedLifetime(t *testing.T) {
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
	if !littleEndianHost() {
		return
	}
	// Once the last network is dropped, no mapping of the file, current
	// or replaced, is left.
	cur.Store(nil)
	collectUntil(t, "mappings of replaced networks left", func() bool { return len(mappingsOf(t, path)) == 0 })
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

// TestCleanupUnmaps loads networks from distinct files, checks that each
// is mapped while its network is held and unmapped after it is dropped.
func TestCleanupUnmaps(t *testing.T) {
	if !littleEndianHost() {
		t.Skip("networks are copied on a big-endian host")
	}
	const files = 20
	dir := t.TempDir()
	paths := make([]string, files)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("net%d.nn", i))
		if err := Save(paths[i], random(10, 10, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	mapped := func() (k int) {
		for _, p := range paths {
			if len(mappingsOf(t, p)) > 0 {
				k++
			}
		}
		return k
	}
	held := make([]*Network, files)
	for i, p := range paths {
		n, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		held[i] = n
	}
	runtime.GC()
	if k := mapped(); k != files {
		t.Fatalf("%d of %d files mapped while their networks are held", k, files)
	}
	runtime.KeepAlive(held)
	held = nil
	collectUntil(t, "mappings of dropped networks left", func() bool { return mapped() == 0 })
}

// BenchmarkLoad compares Load (mapped, weights in place), Load copying
// the weights (the big-endian path), and the former Load: reading the
// file and Unmarshal copying the weights.
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(b.TempDir(), "net.nn")
	if err := Save(path, random(100, 150, 1)); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		load func() (*Network, error)
	}{
		{"mapped", func() (*Network, error) { return Load(path) }},
		{"mapped-copy", func() (*Network, error) { return load(path, false) }},
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
