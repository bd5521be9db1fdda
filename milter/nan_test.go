package milter

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

	"github.com/emersion/go-milter"

	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/scan"
)

// TestNaNWrittenInPlace is issue 14's finding 6 on the milter path: with a
// network in service, a NaN is written over one of its weights in the
// file, in place, with the checksum fixed up (the watcher then refuses
// the file for its non-finite weight, not for a bad checksum). Messages
// scanned afterwards must still get the network's symbol from the network
// in service, finite scores, and every X-Spam-* field; before, the network
// in service read the changed mapping, and the milter panicked rendering
// a NaN score and accepted without headers.
func TestNaNWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "neural.nn")
	names := testScanner(t, defaultThresholds).InputNames()
	if err := nn.Save(path, constantNetwork(names)); err != nil {
		t.Fatal(err)
	}
	w := nn.NewWatcher(path, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	sc := testScannerWith(t, scan.Options{Actions: defaultThresholds,
		Neural: scan.Neural{Source: w, SpamWeight: 3, HamWeight: -3}})
	h := start(t, Options{Scanner: sc})
	m := newMessage(41, "minutes", hamWords, 0)
	before := scoreOf(t, h, m)

	writeNaNInPlace(t, path)
	w.Reload() // what the watcher does on the write's IN_CLOSE_WRITE (Run may have done it already)
	if _, refused := w.Loads(); refused == 0 {
		t.Fatal("the watcher did not refuse the file with a NaN weight")
	}
	for range 3 {
		if after := scoreOf(t, h, m); after != before {
			t.Fatalf("X-Spam-Score %v after the NaN was written, %v before: the network in service changed", after, before)
		}
	}
	if n := sc.NonFinite(); n != 0 {
		t.Errorf("%d non-finite results: the network in service computed NaN", n)
	}
}

// scoreOf sends m through the milter and returns its X-Spam-Score, after
// checking that it is finite and that every field and the network's
// symbol are there.
func scoreOf(t *testing.T, h *harness, m message) float64 {
	t.Helper()
	mods, act := h.sendOne(t, envelope{}, m)
	hd := headersOf(mods)
	if act.Code != milter.ActAccept || hd["X-Spam-Status"] == "" || hd["X-Spam-Score"] == "" || hd["X-Spam-Bar"] == "" {
		t.Fatalf("action %+v, fields %q", act, hd)
	}
	if !strings.Contains(hd["X-Spam-Status"], scan.SymbolNeuralSpam) {
		t.Fatalf("no %s in %q: the network was not used", scan.SymbolNeuralSpam, hd["X-Spam-Status"])
	}
	f, err := strconv.ParseFloat(hd["X-Spam-Score"], 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		t.Fatalf("X-Spam-Score %q is not a finite number", hd["X-Spam-Score"])
	}
	return f
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

// netSource serves one network, as a Watcher does between swaps.
type netSource struct{ n *nn.Network }

func (s netSource) Network() *nn.Network { return s.n }

// TestNaNNetworkOutput: should a network in service compute NaN anyway
// (here one built in memory with a NaN weight, which no file can bring),
// the scanner leaves the network out and counts it, and the milter still
// writes every field with a finite score.
func TestNaNNetworkOutput(t *testing.T) {
	names := testScanner(t, defaultThresholds).InputNames()
	b, err := constantNetwork(names).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	net, err := nn.Unmarshal(b) // builds the name index
	if err != nil {
		t.Fatal(err)
	}
	net.B2 = float32(math.NaN())
	sc := testScannerWith(t, scan.Options{Actions: defaultThresholds,
		Neural: scan.Neural{Source: netSource{net}, SpamWeight: 3, HamWeight: -3}})
	h := start(t, Options{Scanner: sc})
	mods, act := h.sendOne(t, envelope{}, newMessage(42, "offer", spamWords, 0))
	hd := headersOf(mods)
	f, err := strconv.ParseFloat(hd["X-Spam-Score"], 64)
	if act.Code != milter.ActAccept || err != nil || math.IsNaN(f) || hd["X-Spam-Level"] == "" || hd["X-Spam-Flag"] != "YES" {
		t.Fatalf("action %+v, fields %q", act, hd)
	}
	if strings.Contains(hd["X-Spam-Status"], "NEURAL") || sc.NonFinite() != 1 || h.srv.Counters().NonFinite != 1 {
		t.Fatalf("status %q, %d non-finite results counted by the scanner, %d by the milter",
			hd["X-Spam-Status"], sc.NonFinite(), h.srv.Counters().NonFinite)
	}
}
