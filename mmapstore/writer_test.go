package mmapstore

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestWriter_learnUnlearn(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	hs := []uint64{0, 1, 2, 0xffffffffffffffff}
	mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: hs})
	mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: hs[:2]})
	mustApply(t, w, Op{Class: Ham, Delta: 1, Hashes: hs[1:]})
	out := make([]Counts, len(hs))
	tot, err := w.Lookup(Shared, hs, out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Counts{{2, 0}, {2, 1}, {1, 1}, {1, 1}}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("hash %d: got %+v, want %+v", i, out[i], want[i])
		}
	}
	if tot != (Totals{Spam: 2, Ham: 1}) {
		t.Errorf("totals %+v", tot)
	}
	// Unlearn never goes below zero.
	for range 3 {
		mustApply(t, w, Op{Class: Ham, Delta: -1, Hashes: hs})
	}
	tot, _ = w.Lookup(Shared, hs, out)
	if out[0] != (Counts{2, 0}) || out[1] != (Counts{2, 0}) || tot.Ham != 0 {
		t.Errorf("after unlearn: %+v %+v", out, tot)
	}
	// Reopen: the state survives.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, path)
	w2, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	tot, _ = w2.Lookup(Shared, hs, out)
	if out[1] != (Counts{2, 0}) || tot.Spam != 2 {
		t.Errorf("after reopen: %+v %+v", out, tot)
	}
}

func TestWriter_namespaces(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	alice := NamespaceOf("user:alice@example.org")
	de := NamespaceOf("lang:de")
	if alice == Shared || de == Shared || alice == de || NamespaceOf("") != Shared {
		t.Fatal("NamespaceOf")
	}
	h := []uint64{42}
	mustApply(t, w,
		Op{NS: alice, Name: "user:alice@example.org", Class: Spam, Delta: 1, Hashes: h},
		Op{NS: de, Name: "lang:de", Class: Ham, Delta: 1, Hashes: h},
		Op{NS: Shared, Class: Ham, Delta: 1, Hashes: h},
		Op{NS: Shared, Class: Ham, Delta: 1, Hashes: h},
	)
	for _, c := range []struct {
		ns   Namespace
		want Counts
		tot  Totals
	}{{alice, Counts{1, 0}, Totals{1, 0}}, {de, Counts{0, 1}, Totals{0, 1}}, {Shared, Counts{0, 2}, Totals{0, 2}}, {NamespaceOf("x"), Counts{}, Totals{}}} {
		out := make([]Counts, 1)
		tot, err := w.Lookup(c.ns, h, out)
		if err != nil || out[0] != c.want || tot != c.tot {
			t.Errorf("ns %#x: got %+v %+v %v, want %+v %+v", c.ns, out[0], tot, err, c.want, c.tot)
		}
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Namespaces) != 2 || info.Namespaces[0].Name != "lang:de" || info.Namespaces[1].Name != "user:alice@example.org" ||
		info.Namespaces[1].Totals != (Totals{1, 0}) || info.Shared != (Totals{0, 2}) {
		t.Errorf("Stat namespaces: %+v shared %+v", info.Namespaces, info.Shared)
	}
}

func TestWriter_manyNamespacesGrowDirectory(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	for i := range 300 {
		name := "user:" + strings.Repeat("x", i%150) + string(rune('a'+i%26))
		mustApply(t, w, Op{NS: NamespaceOf(name) + Namespace(i), Name: name, Class: Spam, Delta: 1, Hashes: []uint64{uint64(i)}})
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Namespaces) != 300 {
		t.Errorf("got %d namespaces", len(info.Namespaces))
	}
}

func TestWriter_saturates(t *testing.T) {
	w, _ := mustOpenWriter(t, testOptions())
	k := mixKey(7, Shared)
	w.mu.Lock()
	idx, _, _ := w.m.find(k)
	w.m.set(idx, k, pack(Counts{Spam: 1<<32 - 1}), true)
	w.mu.Unlock()
	mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: []uint64{7}})
	if c := lookupOne(t, w, Shared, 7); c.Spam != 1<<32-1 {
		t.Errorf("spam wrapped: %d", c.Spam)
	}
}

func TestOpenWriter_ErrLocked(t *testing.T) {
	_, path := mustOpenWriter(t, testOptions())
	_, err := OpenWriter(path, testOptions())
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: got %v, want ErrLocked", err)
	}
	if want := "mmapstore: statfile " + path + " is locked by another writer"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestOpen_ErrParams(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	w.Close()
	other := testParams
	other.Window = 2
	_, err := OpenReader(path, other)
	if !errors.Is(err, ErrParams) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "was built with window 5, tokenizer wants 2") {
		t.Errorf("message: %v", err)
	}
	o := testOptions()
	o.Params.Hash, o.Params.Seed = "siphash", 1
	_, err = OpenWriter(path, o)
	if !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), `hash "xxh64", tokenizer wants "siphash"`) || !strings.Contains(err.Error(), "seed") {
		t.Errorf("writer: %v", err)
	}
	// The failed open released the lock.
	w2, err := OpenWriter(path, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
}

func TestWriter_badOp(t *testing.T) {
	w, _ := mustOpenWriter(t, testOptions())
	for _, op := range []Op{{Class: 0, Delta: 1}, {Class: 3, Delta: 1}, {Class: Spam, Delta: 2}, {Class: Ham, Delta: 0}} {
		if _, err := w.Apply(op); !errors.Is(err, ErrBadOp) {
			t.Errorf("%+v: got %v", op, err)
		}
	}
}

func TestWriter_growth(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	r := rand.New(rand.NewPCG(1, 2))
	var all []uint64
	for range 40 {
		hs := randHashes(r, 300)
		all = append(all, hs...)
		mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: hs})
	}
	out := make([]Counts, len(all))
	w.Lookup(Shared, all, out)
	for i, c := range out {
		if c != (Counts{1, 0}) {
			t.Fatalf("token %d: %+v", i, c)
		}
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Generation < 4 || info.Used != uint64(len(all)) || info.Load > 0.8 {
		t.Errorf("after growth: %+v", info)
	}
}

func TestWriter_expiry(t *testing.T) {
	o := testOptions()
	o.MaxBytes = fileSize(4096, minNSSlots)
	w, path := mustOpenWriter(t, o)
	r := rand.New(rand.NewPCG(3, 4))
	// A set of frequent tokens, learned often, must survive expiry of hapaxes.
	frequent := randHashes(r, 100)
	for i := range 100 {
		mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: append(randHashes(r, 200), frequent...)})
		if i%10 == 0 {
			mustApply(t, w, Op{Class: Ham, Delta: 1, Hashes: frequent})
		}
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.FileSize > o.MaxBytes || info.Expired == 0 || info.Capacity != 4096 {
		t.Errorf("expiry: %+v", info)
	}
	out := make([]Counts, len(frequent))
	w.Lookup(Shared, frequent, out)
	for i, c := range out {
		if c.Spam != 100 || c.Ham != 10 {
			t.Errorf("frequent token %d: %+v", i, c)
		}
	}
	t.Logf("expired %d, used %d, load %.2f, %.1f bytes/token", info.Expired, info.Used, info.Load, info.BytesPerToken)
}
