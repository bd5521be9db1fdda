package mmapstore

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

// benchFile builds a statfile holding n random tokens (bulk: NoSync, one
// Apply per 64k tokens) and returns its path and the stored hashes.
func benchFile(b *testing.B, n int) (string, []uint64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	slots := ceilPow2(uint64(float64(n)/0.8) + 1)
	w, err := OpenWriter(path, &Options{Params: testParams, NoSync: true, InitialSlots: int(slots), CheckpointBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, uint64(n)))
	hs := randHashes(r, n)
	for i := 0; i < n; i += 1 << 16 {
		mustApply(b, w, Op{Class: Spam, Delta: 1, Hashes: hs[i:min(n, i+1<<16)]})
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path, hs
}

// BenchmarkLookup: lookups per second on one goroutine, batches of 256,
// half hits and half misses.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000, 10_000_000} {
		b.Run(sizeName(n), func(b *testing.B) {
			if n > 1_000_000 && testing.Short() {
				b.Skip("short")
			}
			path, hs := benchFile(b, n)
			rd, err := OpenReader(path, testParams)
			if err != nil {
				b.Fatal(err)
			}
			defer rd.Close()
			r := rand.New(rand.NewPCG(2, 2))
			const batch = 256
			batches := make([][]uint64, 1024)
			for i := range batches {
				batches[i] = make([]uint64, batch)
				for j := range batches[i] {
					if j%2 == 0 {
						batches[i][j] = hs[r.IntN(len(hs))]
					} else {
						batches[i][j] = r.Uint64()
					}
				}
			}
			out := make([]Counts, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				rd.Lookup(Shared, batches[i%len(batches)], out)
			}
			b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}

// BenchmarkLearn: messages of 300 new and recurring tokens, with an fsync
// of the journal per learn and without (NoSync, as in a bulk import).
func BenchmarkLearn(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "fsync"
		if !sync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			w, err := OpenWriter(path, &Options{Params: testParams, NoSync: !sync, InitialSlots: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			r := rand.New(rand.NewPCG(3, 3))
			common := randHashes(r, 5000)
			msg := make([]uint64, 300)
			b.ResetTimer()
			for b.Loop() {
				for j := range msg {
					if j%3 == 0 {
						msg[j] = r.Uint64()
					} else {
						msg[j] = common[r.IntN(len(common))]
					}
				}
				if _, err := w.Apply(Op{Class: Spam, Delta: 1, Hashes: msg}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "learns/s")
		})
	}
}

// BenchmarkBytesPerToken reports the file size per stored token at the
// load limit (the table is filled to just below 0.8).
func BenchmarkBytesPerToken(b *testing.B) {
	for b.Loop() {
		path, _ := benchFile(b, (1<<20)*8/10-1)
		info, err := Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(info.BytesPerToken, "bytes/token")
		b.ReportMetric(info.Load, "load")
	}
}

// BenchmarkGrow10M: time to grow a file holding 10 M tokens (16 M slots,
// just past the load limit) into a 32 M-slot file, fsync included.
func BenchmarkGrow10M(b *testing.B) {
	if testing.Short() {
		b.Skip("short")
	}
	const n = 10_000_000
	for b.Loop() {
		b.StopTimer()
		path, _ := benchFile(b, n)
		w, err := OpenWriter(path, &Options{Params: testParams})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		w.mu.Lock()
		err = w.makeRoom(uint64(float64(w.m.hdr.capacity)*0.8)-n+1, 0, false, func(uint64) bool { return false })
		w.mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/grow")
		b.StopTimer()
		w.Close()
		b.StartTimer()
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return itoa(n/1_000_000) + "M"
	case n >= 1000:
		return itoa(n/1000) + "k"
	}
	return itoa(n)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
