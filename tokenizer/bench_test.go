package tokenizer

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/sluicemail/sluice/internal/corpus"
)

// BenchmarkTokenizeCorpus tokenizes every message of the public corpus per
// iteration. Run: go test -run XXX -bench TokenizeCorpus -benchtime 5x ./tokenizer
func BenchmarkTokenizeCorpus(b *testing.B) {
	p := corpus.Require(b)
	msgs, err := corpus.Load(p)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, m := range msgs {
		total += int64(len(m.Bytes))
	}
	tk := New(Options{})
	var r bytes.Reader
	b.SetBytes(total)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		for _, m := range msgs {
			r.Reset(m.Bytes)
			if _, err := tk.Tokenize(&r); err != nil {
				b.Fatalf("%s: %v", m.Name, err)
			}
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N * len(msgs))
	b.ReportMetric(n/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/msg")
}
