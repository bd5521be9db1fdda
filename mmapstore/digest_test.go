package mmapstore

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// learnSome applies the same learns to w, whatever its geometry.
func learnSome(t *testing.T, w *Writer) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 40 {
		hs := randHashes(r, 50)
		class := Class(1 + i%2)
		mustApply(t, w,
			Op{Class: class, Delta: 1, Hashes: hs},
			Op{NS: NamespaceOf("user:x"), Name: "user:x", Class: class, Delta: 1, Hashes: hs[:10]},
			Op{NS: NamespaceOf("sys:cursor"), Set: true, Totals: Totals{Spam: uint64(i + 1)}})
	}
}

func TestDigest_equalStatesAgree(t *testing.T) {
	small, _ := mustOpenWriter(t, testOptions()) // grows several times
	big := testOptions()
	big.InitialSlots = 1 << 16
	large, _ := mustOpenWriter(t, big)
	learnSome(t, small)
	learnSome(t, large)
	// A slot unlearned to 0/0 stays in one file only: it reads as absent.
	mustApply(t, large, Op{Class: Spam, Delta: 1, Hashes: []uint64{99}}, Op{Class: Spam, Delta: -1, Hashes: []uint64{99}})
	if small.m.hdr.capacity == large.m.hdr.capacity {
		t.Fatal("the two files have the same geometry: the test proves nothing")
	}
	a, err := small.Digest()
	if err != nil {
		t.Fatal(err)
	}
	b, err := large.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("equal statistics, different digests: %x, %x", a, b)
	}
	if err := small.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := DigestFile(small.Path())
	if err != nil || c != a {
		t.Errorf("DigestFile = %x, %v; want %x", c, err, a)
	}
}

// TestDigest_anyChangeDiffers changes one count, one total or one value
// by one and expects a different digest each time.
func TestDigest_anyChangeDiffers(t *testing.T) {
	changes := []struct {
		name string
		op   Op
	}{
		{"a token count", Op{Class: Ham, Delta: 1, Hashes: []uint64{randHashes(rand.New(rand.NewPCG(3, 4)), 1)[0]}}},
		{"a new token", Op{NS: NamespaceOf("user:x"), Class: Spam, Delta: 1, Hashes: []uint64{12345}}},
		{"a value", Op{NS: NamespaceOf("sys:cursor"), Set: true, Totals: Totals{Spam: 41}}},
		{"shared totals", Op{NS: Shared, Set: true, Totals: Totals{Spam: 20, Ham: 21}}},
		{"a namespace's totals", Op{NS: NamespaceOf("user:x"), Class: Spam, Delta: -1}},
	}
	base, _ := mustOpenWriter(t, testOptions())
	learnSome(t, base)
	want, _ := base.Digest()
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions()
			w, err := OpenWriter(filepath.Join(t.TempDir(), "s.db"), o)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			learnSome(t, w)
			if d, _ := w.Digest(); d != want {
				t.Fatal("same learns, different digest")
			}
			mustApply(t, w, c.op)
			if d, _ := w.Digest(); d == want {
				t.Errorf("%s changed, digest did not", c.name)
			}
		})
	}
}

// TestDigest_digesterMatchesFile: a Digester fed what a model knows
// (hash, namespace, counts) sums to the file's digest.
func TestDigest_digesterMatchesFile(t *testing.T) {
	w, _ := mustOpenWriter(t, testOptions())
	ns := NamespaceOf("lang:de")
	mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: []uint64{1, 2}}, Op{NS: ns, Class: Ham, Delta: 1, Hashes: []uint64{2}})
	var d Digester
	d.AddSlot(KeyOf(1, Shared), Counts{Spam: 1})
	d.AddSlot(KeyOf(2, Shared), Counts{Spam: 1})
	d.AddSlot(KeyOf(2, ns), Counts{Ham: 1})
	d.AddSlot(KeyOf(3, ns), Counts{}) // absent
	d.AddTotals(Shared, Totals{Spam: 1})
	d.AddTotals(ns, Totals{Ham: 1})
	got, _ := w.Digest()
	if d.Sum() != got {
		t.Error("a Digester of the same statistics sums to another digest")
	}
}

// TestDigest_snapshotCarriesValues: a snapshot rebuilt elsewhere (as a
// new host bootstraps) digests as the file it was taken from, values set
// with Set ops (a replication cursor) included.
func TestDigest_snapshotCarriesValues(t *testing.T) {
	w, _ := mustOpenWriter(t, testOptions())
	learnSome(t, w)
	want, _ := w.Digest()
	f, err := os.CreateTemp(t.TempDir(), "snap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := w.Snapshot(f); err != nil {
		t.Fatal(err)
	}
	mustApply(t, w, Op{NS: NamespaceOf("sys:cursor"), Set: true, Totals: Totals{Spam: 1000}}) // after the snapshot
	im, err := OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	tmp := filepath.Join(t.TempDir(), "restored.db")
	copyImage(t, im, tmp)
	got, err := DigestFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatal("a restored snapshot digests differently from the file at the snapshot")
	}
	if now, _ := w.Digest(); now == want {
		t.Fatal("the cursor set after the snapshot did not change the digest")
	}
}
