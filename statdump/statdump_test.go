package statdump

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/mmapstore"
)

var params = mmapstore.Params{Hash: "xxh64", Seed: 7, Window: 3, Version: 2}

// statfile writes a statfile with tokens in the shared namespace and two
// named ones, some unlearned to zero, and returns its path.
func statfile(t testing.TB, tokens int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.statfile")
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{Params: params, InitialSlots: 1024, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < tokens; i += 50 {
		hs := make([]uint64, 50)
		for j := range hs {
			hs[j] = rng.Uint64()
		}
		ns := []string{"", "user:alice@example.org", "lang:de"}[i/50%3]
		class := mmapstore.Class(1 + i/50%2)
		if _, err := w.Apply(mmapstore.Op{NS: mmapstore.NamespaceOf(ns), Name: ns, Class: class, Delta: 1, Hashes: hs}); err != nil {
			t.Fatal(err)
		}
		if i%200 == 0 {
			if _, err := w.Apply(mmapstore.Op{NS: mmapstore.NamespaceOf(ns), Class: class, Delta: -1, Hashes: hs[:10]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func dumpOf(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := mmapstore.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	var b bytes.Buffer
	if _, err := Write(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// build is a Sink that builds a statfile.
type build struct {
	path string
	b    *mmapstore.Builder
}

func (s *build) Header(m mmapstore.Meta) error {
	var err error
	s.b, err = mmapstore.NewBuilder(s.path, m, m.Generation)
	return err
}
func (s *build) Namespace(ns mmapstore.NamespaceInfo) error {
	return s.b.AddNamespace(ns.NS, ns.Name, ns.Totals)
}
func (s *build) Slot(k uint64, c mmapstore.Counts) error { return s.b.AddSlot(k, c) }

// TestRoundTrip: a dump read back builds the same file, byte for byte
// but for its creation time and header checksum.
func TestRoundTrip(t *testing.T) {
	src := statfile(t, 5000)
	d := dumpOf(t, src)
	dst := filepath.Join(t.TempDir(), "d.statfile")
	s := &build{path: dst}
	sum, err := Read(bytes.NewReader(d), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.b.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := mmapstore.Check(dst); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(dst)
	if len(a) != len(b) {
		t.Fatalf("sizes %d, %d", len(a), len(b))
	}
	for i := range a {
		// 48..56 creation time, 252..256 its checksum
		if a[i] != b[i] && !(i >= 48 && i < 56) && !(i >= 252 && i < 256) {
			t.Fatalf("byte %d differs: %#x, %#x", i, a[i], b[i])
		}
	}
	si, _ := mmapstore.Stat(src)
	if sum.Tokens != si.Used || sum.Namespaces != uint64(len(si.Namespaces)) {
		t.Fatalf("summary %+v, statfile has %d tokens, %d namespaces", sum, si.Used, len(si.Namespaces))
	}
}

type discard struct{}

func (discard) Header(mmapstore.Meta) error               { return nil }
func (discard) Namespace(mmapstore.NamespaceInfo) error   { return nil }
func (discard) Slot(key uint64, c mmapstore.Counts) error { return nil }

// TestRefused: every prefix of a dump is refused as truncated, and a
// flipped bit anywhere (two of each byte's eight) is refused.
func TestRefused(t *testing.T) {
	d := dumpOf(t, statfile(t, 100))
	if _, err := Read(bytes.NewReader(wrap(unwrap(t, d))), discard{}, nil); err != nil {
		t.Fatalf("a body rewrapped: %v", err)
	}
	for n := range len(d) {
		_, err := Read(bytes.NewReader(d[:n]), discard{}, nil)
		if !errors.Is(err, ErrTruncated) && !(n == 0 && errors.Is(err, ErrFormat)) {
			t.Fatalf("prefix of %d of %d bytes: %v, want ErrTruncated", n, len(d), err)
		}
	}
	for i := range len(d) {
		for _, bit := range []int{i % 8, (i + 5) % 8} {
			b := bytes.Clone(d)
			b[i] ^= 1 << bit
			if _, err := Read(bytes.NewReader(b), discard{}, nil); err == nil {
				t.Fatalf("bit %d of byte %d flipped: accepted", bit, i)
			}
		}
	}
	if _, err := Read(bytes.NewReader(append(bytes.Clone(d), 'x')), discard{}, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	if _, err := Read(bytes.NewReader(d), discard{}, &Options{MaxBytes: 1 << 12}); err == nil {
		t.Fatal("a dump over MaxBytes accepted")
	}
}

// FuzzRead: no input panics the reader or makes it allocate by what it
// claims; what it accepts, it delivered whole. With wrap, the input is a
// body that the fuzzer sees past the compression and checksum.
func FuzzRead(f *testing.F) {
	d := dumpOf(f, statfile(f, 100))
	f.Add(false, d)
	f.Add(true, unwrap(f, d))
	f.Add(false, []byte(Magic+"\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, wrapIt bool, b []byte) {
		if wrapIt {
			b = wrap(b)
		}
		var s counter
		sum, err := Read(bytes.NewReader(b), &s, &Options{MaxBytes: 64 << 20})
		if err == nil && (sum.Tokens != s.tokens || sum.Namespaces != s.ns || !s.header) {
			t.Fatalf("accepted with summary %+v, delivered %+v", sum, s)
		}
	})
}

// wrap makes a stream of a body: prefix, gzip member, SHA-256.
func wrap(body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(Magic + "\x01\x00\x00\x00")
	zw := gzip.NewWriter(&b)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(b.Bytes())
	return append(b.Bytes(), sum[:]...)
}

// unwrap returns a stream's body.
func unwrap(t testing.TB, d []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(d[12 : len(d)-sha256.Size]))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

type counter struct {
	header     bool
	ns, tokens uint64
}

func (c *counter) Header(mmapstore.Meta) error             { c.header = true; return nil }
func (c *counter) Namespace(mmapstore.NamespaceInfo) error { c.ns++; return nil }
func (c *counter) Slot(uint64, mmapstore.Counts) error     { c.tokens++; return nil }
