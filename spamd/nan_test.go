package spamd

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/tokenizer"
)

// TestNaNWrittenInPlace is issue 14's finding 6 on the spamd path: a NaN
// written in place over a weight of the network in service (checksum
// fixed up) must change neither the network nor the scores: before, spamd
// answered "NaN" for every message.
func TestNaNWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	p := tokenizer.New(tokenizer.Options{}).Params()
	st, err := mmapstore.OpenWriter(filepath.Join(dir, "empty.statfile"), &mmapstore.Options{
		Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := scan.Options{Bayes: bayes.DefaultConfig(), Actions: testThresholds}
	names := scan.New(st, opts).InputNames()
	path := filepath.Join(dir, "neural.nn")
	if err := nn.Save(path, constantNetwork(names)); err != nil {
		t.Fatal(err)
	}
	w := nn.NewWatcher(path, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	opts.Neural = scan.Neural{Source: w, SpamWeight: 3, HamWeight: -3}
	sc := scan.New(st, opts)
	_, addr := startServer(t, Options{Scanner: sc})

	before := checkScore(t, addr)
	writeNaNInPlace(t, path)
	w.Reload() // what the watcher does on the write's IN_CLOSE_WRITE (Run may have done it already)
	if _, refused := w.Loads(); refused == 0 {
		t.Fatal("the watcher did not refuse the file with a NaN weight")
	}
	for range 3 {
		if after := checkScore(t, addr); after != before {
			t.Fatalf("score %q after the NaN was written, %q before: the network in service changed", after, before)
		}
	}
	if n := sc.NonFinite(); n != 0 {
		t.Errorf("%d non-finite results: the network in service computed NaN", n)
	}
}

// checkScore sends hamMsg with PROCESS and returns the score of the
// reply's Spam: line, after checking that it is a finite number and that
// the message came back with X-Spam-* fields naming the network's symbol.
func checkScore(t *testing.T, addr string) string {
	t.Helper()
	reply := exchange(t, addr, spamc("PROCESS SPAMC/1.5", "", hamMsg))
	_, spam, _ := strings.Cut(reply, "\r\nSpam: ")
	spam, _, _ = strings.Cut(spam, "\r\n")
	_, score, _ := strings.Cut(spam, " ; ")
	score, _, _ = strings.Cut(score, " / ")
	f, err := strconv.ParseFloat(score, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		t.Fatalf("score %q in %q is not a finite number", score, reply)
	}
	// X-Spam-Score has two decimals, the Spam: line one: a prefix.
	if !strings.Contains(reply, "\r\nX-Spam-Status: No, score="+score) || !strings.Contains(reply, scan.SymbolNeuralSpam) ||
		!strings.Contains(reply, "\r\nX-Spam-Level: ") || !strings.Contains(reply, "\r\nX-Spam-Score: "+score) {
		t.Fatalf("reply without the fields or the network's symbol:\n%s", reply)
	}
	return score
}

// constantNetwork is a valid network over names whose output is about
// +0.46 for any inputs in [0, 1]: every weight of the first layer 0, the
// output bias 0.5.
func constantNetwork(names []string) *nn.Network {
	in, hid := len(names), 2
	ones := func(k int) []float32 {
		s := make([]float32, k)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	return &nn.Network{Inputs: names, Digest: nn.InputDigest(names), Hidden: hid, HiddenAct: nn.ReLU, OutAct: nn.Tanh,
		Offset: make([]float32, in), Scale: ones(in), W1: make([]float32, in*hid), B1: make([]float32, hid), W2: ones(hid), B2: 0.5}
}

// writeNaNInPlace writes a NaN over the first weight of the network file
// at path (its Offset[0]) and fixes the checksum, without replacing the
// file.
func writeNaNInPlace(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	floats := binary.LittleEndian.Uint32(b[12:]) // the header length
	binary.LittleEndian.PutUint32(b[floats:], math.Float32bits(float32(math.NaN())))
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crc32.MakeTable(crc32.Castagnoli)))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
