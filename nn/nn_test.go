package nn

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// tiny is a 2-input, 2-hidden network whose output is easy to compute by
// hand.
func tiny() *Network {
	names := []string{"A", "B"}
	n := &Network{
		Inputs: names, Digest: InputDigest(names), Hidden: 2, HiddenAct: ReLU, OutAct: Tanh,
		Offset: []float32{0, 0.5}, Scale: []float32{1, 2},
		W1: []float32{1, -1, 0.5, 2}, B1: []float32{0, -0.25},
		W2: []float32{1, -0.5}, B2: 0.125,
		SpamSamples: 10, HamSamples: 12, Epoch: 3, Created: time.Unix(1700000000, 0),
	}
	if err := n.check(); err != nil {
		panic(err)
	}
	return n
}

func TestForwardByHand(t *testing.T) {
	n := tiny()
	// x = (1, 1) → normalised (1, 1).
	// h0 = relu(1·1 - 1·1 + 0) = 0; h1 = relu(0.5 + 2 - 0.25) = 2.25.
	// out = tanh(0.125 + 1·0 - 0.5·2.25) = tanh(-1).
	if got, want := n.Forward([]float32{1, 1}), math.Tanh(-1); math.Abs(got-want) > 1e-6 {
		t.Errorf("Forward(1,1) = %v, want %v", got, want)
	}
	// x = (2, 0) → normalised (2, -1): h0 = relu(2+1) = 3; h1 = relu(1-2-0.25) = 0.
	// out = tanh(0.125 + 3) = tanh(3.125).
	if got, want := n.Forward([]float32{2, 0}), math.Tanh(3.125); math.Abs(got-want) > 1e-6 {
		t.Errorf("Forward(2,0) = %v, want %v", got, want)
	}
	// By name: B missing is 0, unknown names ignored.
	x := n.Fill(nil, []string{"X", "A"}, []float32{9, 2})
	if !slices.Equal(x, []float32{2, 0}) {
		t.Errorf("Fill = %v", x)
	}
}

func TestGradientCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := newParams(5, 4, rng)
	for i := range p.b1 {
		p.b1[i] = rng.NormFloat64() // move pre-activations off the ReLU kink
	}
	x := []float64{0.3, -1.2, 0.8, 0.1, 2}
	h := make([]float64, 4)
	for _, spam := range []bool{true, false} {
		g := p.zeroLike()
		s := p.forward(x, h, 0)
		p.backward(x, h, s, spam, 1, g)
		ps, gs := p.slices(), g.slices()
		for t2 := range ps {
			for i := range ps[t2] {
				const eps = 1e-6
				old := ps[t2][i]
				ps[t2][i] = old + eps
				lp := loss(p.forward(x, h, 0), spam)
				ps[t2][i] = old - eps
				lm := loss(p.forward(x, h, 0), spam)
				ps[t2][i] = old
				num := (lp - lm) / (2 * eps)
				if math.Abs(num-gs[t2][i]) > 1e-5*max(1, math.Abs(num)) {
					t.Errorf("spam=%v param %d[%d]: analytic %v, numeric %v", spam, t2, i, gs[t2][i], num)
				}
			}
		}
	}
}

// synthetic is a set that a linear model cannot separate (XOR of two
// inputs) but a hidden layer can, plus noise inputs.
func synthetic(n int, seed uint64) []Sample {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []Sample
	for i := 0; i < n; i++ {
		a, b := rng.IntN(2), rng.IntN(2)
		x := []float32{float32(a) + 0.1*float32(rng.Float64()), float32(b) + 0.1*float32(rng.Float64()), float32(rng.Float64())}
		out = append(out, Sample{X: x, Spam: a != b})
	}
	return out
}

func TestTrainConverges(t *testing.T) {
	names := []string{"a", "b", "noise"}
	n, rep, err := Train(names, synthetic(600, 1), TrainOptions{Seed: 3, Hidden: 8})
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	test := synthetic(400, 2)
	for _, s := range test {
		if (n.Forward(s.X) > 0) != s.Spam {
			wrong++
		}
	}
	t.Logf("report %+v, %d of %d wrong", rep, wrong, len(test))
	if wrong > len(test)/50 {
		t.Errorf("%d of %d wrong on a separable set", wrong, len(test))
	}
	if rep.BestEpoch == 0 || rep.BestEpoch > rep.Epochs {
		t.Errorf("report %+v", rep)
	}
	// Deterministic for a seed.
	n2, _, err := Train(names, synthetic(600, 1), TrainOptions{Seed: 3, Hidden: 8})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.W1, n2.W1) || !slices.Equal(n.W2, n2.W2) || n.B2 != n2.B2 {
		t.Error("two trainings with the same seed differ")
	}
	if _, _, err := Train(names, synthetic(600, 1)[:1], TrainOptions{}); !errors.Is(err, ErrTooFewSamples) {
		t.Errorf("one sample: %v", err)
	}
}

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "net.nn")
	n := tiny()
	if err := Save(path, n); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Inputs, n.Inputs) || m.Digest != n.Digest || !slices.Equal(m.W1, n.W1) || !slices.Equal(m.Offset, n.Offset) ||
		m.B2 != n.B2 || m.Epoch != 3 || m.SpamSamples != 10 || m.HamSamples != 12 || !m.Created.Equal(n.Created) {
		t.Fatalf("round trip: %+v, want %+v", m, n)
	}
	if m.Forward([]float32{1, 1}) != n.Forward([]float32{1, 1}) {
		t.Error("loaded network computes another output")
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// refusal is a file that Unmarshal and Load refuse, with the error kind.
type refusal struct {
	name string
	b    []byte
	want error
}

func refusals(t *testing.T) []refusal {
	good, err := tiny().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := slices.Clone(good); b[i] ^= 1; return b }
	resum := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[len(b)-4:], crc32c(b[:len(b)-4]))
		return b
	}
	sizes := slices.Clone(good)
	binary.LittleEndian.PutUint32(sizes[20:], 3) // 3 hidden units claimed
	badName := slices.Clone(good)
	badName[fixedHeader] = 200 // first name's length overruns
	nan := slices.Clone(good)
	binary.LittleEndian.PutUint32(nan[len(nan)-8:], 0x7fc00000) // b2 = NaN
	return []refusal{
		{"empty", nil, ErrFormat},
		{"short", good[:fixedHeader], ErrFormat},
		{"magic", flip(0), ErrFormat},
		{"version", flip(8), ErrVersion},
		{"checksum", flip(len(good) - 10), ErrChecksum},
		{"truncated", good[:len(good)-4], ErrSize},
		{"appended", append(slices.Clone(good), 0, 0, 0, 0), ErrSize},
		{"wrong sizes", resum(sizes), ErrSize},
		{"bad name", resum(badName), ErrInvalid},
		{"digest", resum(flip(30)), ErrInvalid},
		{"not finite", resum(nan), ErrInvalid},
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	for _, c := range refusals(t) {
		if _, err := Unmarshal(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestLoadRefuses writes each refused file and loads it: the same
// refusal as Unmarshal's.
func TestLoadRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range refusals(t) {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".nn")
		if err := os.WriteFile(path, c.b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	big := filepath.Join(dir, "big.nn")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, maxFileSize+1); err != nil { // sparse
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrSize) {
		t.Errorf("file over the limit: %v, want %v", err, ErrSize)
	}
	if _, err := Load(filepath.Join(dir, "missing.nn")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

func TestWatcherReloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "net.nn")
	w := NewWatcher(path, nil)
	if w.Network() != nil {
		t.Fatal("network without a file")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitFor := func(what string, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}
	var worst time.Duration
	for epoch := uint64(1); epoch <= 20; epoch++ {
		n := tiny()
		n.Epoch = epoch
		if err := Save(path, n); err != nil {
			t.Fatal(err)
		}
		worst = max(worst, waitFor("reload", func() bool { nw := w.Network(); return nw != nil && nw.Epoch == epoch }))
	}
	t.Logf("20 publications, slowest in effect after %v", worst)
	// A bad file is refused; the previous network stays.
	if err := os.WriteFile(path+".tmp", []byte("SLUICENN garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	waitFor("refusal", func() bool { _, refused := w.Loads(); return refused == 1 })
	if n := w.Network(); n == nil || n.Epoch != 20 {
		t.Fatalf("network after a bad file: %+v", n)
	}
}

func FuzzLoad(f *testing.F) {
	good, _ := tiny().Marshal()
	f.Add(good)
	f.Add(good[:fixedHeader])
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Unmarshal(b)
		// decode with alias is Load's path: the weights in place when b
		// happens to be aligned. It must judge b the same way.
		v, verr := decode(b, true)
		if (err == nil) != (verr == nil) {
			t.Fatalf("Unmarshal: %v; in place: %v", err, verr)
		}
		if err != nil {
			return
		}
		x := make([]float32, len(n.Inputs))
		if out, vout := n.Forward(x), v.Forward(x); math.Float64bits(out) != math.Float64bits(vout) {
			t.Fatalf("Forward: %v copied, %v in place", out, vout)
		}
		if _, err := n.Marshal(); err != nil {
			t.Fatalf("accepted network does not marshal: %v", err)
		}
	})
}

func TestTrainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Train([]string{"a", "b", "noise"}, synthetic(100, 1), TrainOptions{Context: ctx})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled training: %v", err)
	}
}

// TestTrainMembers: an averaged network's log-odds are the mean of its
// members' log-odds, member k being the network Train gives with seed
// Seed+k.
func TestTrainMembers(t *testing.T) {
	names := []string{"a", "b", "c"}
	rng := rand.New(rand.NewPCG(3, 4))
	var samples []Sample
	for i := range 200 {
		spam := i%2 == 0
		x := []float32{float32(rng.NormFloat64()), float32(rng.Float64() * 10), float32(rng.NormFloat64())}
		if spam {
			x[0] += 1.5
			x[1] += 3
		}
		samples = append(samples, Sample{X: x, Spam: spam})
	}
	opts := TrainOptions{Seed: 7, Hidden: 5, MaxEpochs: 30}
	var members []*Network
	for k := range 3 {
		o := opts
		o.Seed += uint64(k)
		o.Members = 1
		m, _, err := Train(names, samples, o)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	opts.Members = 3
	avg, _, err := Train(names, samples, opts)
	if err != nil {
		t.Fatal(err)
	}
	if avg.Hidden != 15 {
		t.Fatalf("hidden %d, want 15", avg.Hidden)
	}
	for _, s := range samples[:50] {
		want := 0.0
		for _, m := range members {
			want += m.LogOdds(s.X) / 3
		}
		if got := avg.LogOdds(s.X); math.Abs(got-want) > 1e-4*max(1, math.Abs(want)) {
			t.Fatalf("log-odds %g, members' mean %g", got, want)
		}
	}
}
