package scan

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/internal/corpus"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/rules"
	"github.com/sluicemail/sluice/tokenizer"
)

// BenchmarkScanCorpus learns the train half of the public corpus, then
// measures the whole pipeline (tokenize, look up, classify) over the test
// half, one goroutine: messages/s and MB/s. The sub-benchmark "rules" runs
// the built-in rules too.
func BenchmarkScanCorpus(b *testing.B) {
	msgs, err := corpus.Load(corpus.Require(b))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.statfile")
	p := tokenizer.New(tokenizer.Options{}).Params()
	w, err := mmapstore.OpenWriter(path, &mmapstore.Options{
		Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	batch := learn.New(w, learn.Options{}).NewBatch(0)
	var test [][]byte
	var size int64
	for _, m := range msgs {
		if m.Test {
			test = append(test, m.Bytes)
			size += int64(len(m.Bytes))
			continue
		}
		class := learn.Ham
		if m.Spam {
			class = learn.Spam
		}
		if _, err := batch.Add(bytes.NewReader(m.Bytes), class, ""); err != nil {
			b.Fatal(err)
		}
	}
	if err := batch.Flush(); err != nil {
		b.Fatal(err)
	}
	r, err := mmapstore.OpenReader(path, mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	set, err := rules.New(rules.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		rules *rules.Set
	}{{"bayes", nil}, {"rules", set}} {
		b.Run(c.name, func(b *testing.B) {
			s := New(r, Options{Bayes: bayes.DefaultConfig(), Actions: Thresholds{AddHeader: 6, Reject: 15}, Rules: c.rules})
			ctx := context.Background()
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range test {
					if _, err := s.Scan(ctx, bytes.NewReader(m), Request{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(test)*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
