package mmapstore

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// copyImage builds, at path, the statfile im describes, as a restore does.
func copyImage(t *testing.T, im *Image, path string) {
	t.Helper()
	meta := im.Meta()
	b, err := NewBuilder(path, meta, meta.Generation+1)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range im.Namespaces() {
		if err := b.AddNamespace(ns.NS, ns.Name, ns.Totals); err != nil {
			t.Fatal(err)
		}
	}
	if err := im.Slots(b.AddSlot); err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotInstall snapshots a writer, learns on, then installs a file
// built from the snapshot: a reader opened before follows the install and
// sees the snapshot's counts, and the writer learns on from its sequence.
func TestSnapshotInstall(t *testing.T) {
	w, path := mustOpenWriter(t, testOptions())
	rng := rand.New(rand.NewPCG(3, 4))
	alice := NamespaceOf("user:alice")
	var hs [][]uint64
	for i := range 60 { // past one growth
		h := randHashes(rng, 40)
		hs = append(hs, h)
		ns, name := Shared, ""
		if i%3 == 0 {
			ns, name = alice, "user:alice"
		}
		mustApply(t, w, Op{NS: ns, Name: name, Class: Class(1 + i%2), Delta: 1, Hashes: h})
	}
	mustApply(t, w, Op{Class: Spam, Delta: -1, Hashes: hs[1][:5]}) // zero counts stay in their slots
	r, err := OpenReader(path, testParams)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	f, err := os.CreateTemp(t.TempDir(), "snap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := w.Snapshot(f); err != nil {
		t.Fatal(err)
	}
	before := Info{}
	if before, err = Stat(f.Name()); err != nil {
		t.Fatal(err)
	}
	seq := mustApply(t, w, Op{Class: Spam, Delta: 1, Hashes: hs[0]})
	if before.AppliedSeq != seq-1 || !before.Clean {
		t.Fatalf("snapshot applied seq %d clean %v, want %d, true", before.AppliedSeq, before.Clean, seq-1)
	}
	im, err := OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	tmp := filepath.Join(filepath.Dir(path), "restore.tmp")
	copyImage(t, im, tmp)

	bad := testOptions()
	bad.Params.Window = 3
	other, err := OpenWriter(filepath.Join(t.TempDir(), "other.db"), bad)
	if err != nil {
		t.Fatal(err)
	}
	var pe *ParamsError
	if err := other.Install(tmp); !errors.As(err, &pe) {
		t.Fatalf("install with other parameters: %v, want a ParamsError", err)
	}
	other.Close()

	out := make([]Counts, len(hs[0]))
	if _, err := r.Lookup(Shared, hs[0], out); err != nil || out[0] != (Counts{Spam: 1}) {
		t.Fatalf("reader before install: %+v %v", out[0], err)
	}
	if err := w.Install(tmp); err != nil {
		t.Fatal(err)
	}
	after, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.Used != before.Used || after.Capacity != before.Capacity || after.Shared != before.Shared ||
		after.AppliedSeq != before.AppliedSeq || len(after.Namespaces) != 1 || after.Namespaces[0] != before.Namespaces[0] {
		t.Fatalf("installed %+v, snapshot %+v", after, before)
	}
	if _, err := r.Lookup(Shared, hs[0], out); err != nil {
		t.Fatal(err)
	}
	for _, c := range out {
		if c != (Counts{}) {
			t.Fatalf("a reader opened before the install sees %+v: it did not follow", c)
		}
	}
	if _, err := r.Lookup(Shared, hs[2], out); err != nil || out[0] != (Counts{Spam: 1}) {
		t.Fatalf("reader after install: %+v %v", out[0], err)
	}
	if got := lookupOne(t, w, Shared, hs[0][0]); got != (Counts{}) {
		t.Fatalf("the learn after the snapshot survived the install: %+v", got)
	}
	if got := mustApply(t, w, Op{Class: Ham, Delta: 1, Hashes: hs[0]}); got != before.AppliedSeq+1 {
		t.Fatalf("next seq %d, want %d", got, before.AppliedSeq+1)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w2, err := OpenWriter(path, testOptions()); err != nil {
		t.Fatal(err)
	} else if got := lookupOne(t, w2, Shared, hs[0][3]); got != (Counts{Ham: 1}) {
		t.Fatalf("after reopen: %+v", got)
	} else {
		w2.Close()
	}
}

// TestBuilderRefuses: a key twice, a key past its probe bound, too many
// namespaces.
func TestBuilderRefuses(t *testing.T) {
	meta := Meta{Params: testParams, Capacity: minSlots, NSCapacity: minNSSlots, MaxProbe: 2}
	b, err := NewBuilder(filepath.Join(t.TempDir(), "b"), meta, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	home := uint64(5) << 54 // slot 5 of 1024
	for i, want := range []error{nil, ErrBadBackup, nil, ErrBadBackup} {
		k := home + uint64(i/2+1)
		if i == 1 {
			k = home + 1 // twice
		}
		if i == 3 {
			k = home + 3 // a third key homed at 5: past the probe bound 2
		}
		if err := b.AddSlot(k, Counts{Spam: 1}); !errors.Is(err, want) {
			t.Fatalf("key %d: %v, want %v", i, err, want)
		}
	}
	for i := range minNSSlots {
		err := b.AddNamespace(Namespace(i+1), "", Totals{Spam: 1})
		if (i < minNSSlots/2) != (err == nil) {
			t.Fatalf("namespace %d: %v", i, err)
		}
	}
}
