package learn_test

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// BenchmarkApplyEvent applies events of 500 token hashes each (a
// message's worth), every one a new message learned with a user and a
// language: the rate at which one host applies a stream. "fsync" is the
// service setting (one journal fsync per event); "nosync" is the cost of
// the work itself.
func BenchmarkApplyEvent(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			w, err := mmapstore.OpenWriter(filepath.Join(b.TempDir(), "s.db"),
				&mmapstore.Options{Params: modelParams, InitialSlots: 1 << 20, NoSync: !sync})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			l := learn.New(w, learn.Options{UsersEnabled: true, LanguagesEnabled: true, MaxUserNamespaces: 100})
			r := rand.New(rand.NewPCG(1, 2))
			users := []string{"alice", "bob", "carol", "dave"}
			var seq uint64
			b.ReportAllocs()
			for b.Loop() {
				seq++
				hs := make([]uint64, 500)
				for i := range hs {
					hs[i] = r.Uint64N(200_000) + 1 // a vocabulary: most tokens are seen again
				}
				ev := learn.Event{Origin: "mx1", Seq: seq, Label: learn.Label(1 + seq%2), Source: "dovecot",
					User: users[seq%4], Language: "en", Params: modelParams, Hashes: hs,
					Digest: sha256.Sum256(binary.LittleEndian.AppendUint64(nil, seq))}
				if _, err := l.ApplyEvent(ev, seq); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
