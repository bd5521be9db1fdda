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
// language: the rate at which one host applies a stream, on a table big
// enough not to grow during the run (4M slots, 64 MiB). "fsync" is the
// service setting (one journal fsync per event); "nosync" is the cost of
// the work itself.
func BenchmarkApplyEvent(b *testing.B) {
	for _, c := range []struct {
		name  string
		sync  bool
		group int // 0: ApplyEvent; else ApplyEvents with this many
	}{{"fsync", true, 0}, {"nosync", false, 0}, {"fsync-group64", true, 64}} {
		b.Run(c.name, func(b *testing.B) {
			w, err := mmapstore.OpenWriter(filepath.Join(b.TempDir(), "s.db"),
				&mmapstore.Options{Params: modelParams, InitialSlots: 1 << 22, NoSync: !c.sync})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			l := learn.New(w, learn.Options{UsersEnabled: true, LanguagesEnabled: true, MaxUserNamespaces: 100})
			r := rand.New(rand.NewPCG(1, 2))
			users := []string{"alice", "bob", "carol", "dave"}
			var seq uint64
			var batch []learn.StreamEvent
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
				if c.group == 0 {
					if _, err := l.ApplyEvent(ev, seq); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if batch = append(batch, learn.StreamEvent{Event: ev, StreamSeq: seq}); len(batch) == c.group {
					if _, err := l.ApplyEvents(batch); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			if _, err := l.ApplyEvents(batch); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
