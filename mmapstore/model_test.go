package mmapstore

import (
	"math/rand/v2"
	"testing"
	"time"
)

// model is the plain-Go-map reference the statfile is compared with.
type model struct {
	counts map[Namespace]map[uint64]Counts
	totals map[Namespace]Totals
}

func newModel() *model {
	return &model{counts: map[Namespace]map[uint64]Counts{}, totals: map[Namespace]Totals{}}
}

func (m *model) apply(op Op) {
	cs := m.counts[op.NS]
	if cs == nil {
		cs = map[uint64]Counts{}
		m.counts[op.NS] = cs
	}
	for _, h := range op.Hashes {
		cs[h] = unpack(bump(pack(cs[h]), op.Class, op.Delta))
	}
	t := m.totals[op.NS]
	p := &t.Spam
	if op.Class == Ham {
		p = &t.Ham
	}
	if op.Delta > 0 {
		*p++
	} else if *p > 0 {
		*p--
	}
	m.totals[op.NS] = t
}

// TestModel compares random learn/unlearn sequences, across growth,
// expiry and reopening, with the model. Without expiry the counts must be
// equal; with expiry each count is at most the model's (expired tokens
// restart from zero) and the totals are equal.
func TestModel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBytes int64
	}{{"grow", 0}, {"expire", fileSize(2048, minNSSlots)}} {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(tc.name, func(t *testing.T) {
				if testing.Short() && seed > 1 {
					t.Skip("short")
				}
				s := seed*1000 + uint64(time.Now().UnixNano()%1000)
				t.Logf("seed %d", s)
				runModel(t, s, tc.maxBytes)
			})
		}
	}
}

func runModel(t *testing.T, seed uint64, maxBytes int64) {
	r := rand.New(rand.NewPCG(seed, seed))
	o := testOptions()
	o.MaxBytes = maxBytes
	w, path := mustOpenWriter(t, o)
	md := newModel()
	nss := []Namespace{Shared, NamespaceOf("user:a"), NamespaceOf("lang:de")}
	pool := randHashes(r, 6000)
	verify := func() {
		t.Helper()
		expired := w.m.load(wExpired) > 0
		for ns, cs := range md.counts {
			hs := make([]uint64, 0, len(cs))
			for h := range cs {
				hs = append(hs, h)
			}
			out := make([]Counts, len(hs))
			tot, err := w.Lookup(ns, hs, out)
			if err != nil {
				t.Fatal(err)
			}
			if tot != md.totals[ns] {
				t.Fatalf("ns %#x totals %+v, model %+v", ns, tot, md.totals[ns])
			}
			for i, h := range hs {
				want := cs[h]
				if got := out[i]; got != want && (!expired || got.Spam > want.Spam || got.Ham > want.Ham) {
					t.Fatalf("ns %#x hash %#x: got %+v, model %+v (expired %v)", ns, h, got, want, expired)
				}
			}
		}
	}
	for step := range 400 {
		var ops []Op
		for range 1 + r.IntN(3) {
			op := Op{NS: nss[r.IntN(len(nss))], Class: Class(1 + r.IntN(2)), Delta: 1}
			if r.IntN(4) == 0 {
				op.Delta = -1
			}
			seen := map[uint64]bool{}
			for range r.IntN(60) {
				h := pool[r.IntN(len(pool))]
				if r.IntN(3) == 0 {
					h = r.Uint64() // a hapax
				}
				if !seen[h] {
					seen[h] = true
					op.Hashes = append(op.Hashes, h)
				}
			}
			ops = append(ops, op)
			md.apply(op)
		}
		mustApply(t, w, ops...)
		if step%50 == 49 {
			verify()
			// Reopen half the time through a clean close, half through a
			// simulated crash (no checkpoint: replay from the journal).
			if r.IntN(2) == 0 {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				w.mu.Lock()
				w.closed = true
				w.m.release()
				w.j.f.Close()
				unlockFile(w.lock)
				w.lock.Close()
				w.mu.Unlock()
			}
			mustCheck(t, path)
			var err error
			if w, err = OpenWriter(path, o); err != nil {
				t.Fatal(err)
			}
			verify()
		}
	}
	verify()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if maxBytes > 0 && (info.Expired == 0 || info.FileSize > maxBytes) {
		t.Errorf("expiry did not run or size exceeded: %+v", info)
	}
	if maxBytes == 0 && info.Generation < 3 {
		t.Errorf("growth did not run: %+v", info)
	}
	t.Logf("generation %d, used %d, expired %d, load %.2f", info.Generation, info.Used, info.Expired, info.Load)
}
