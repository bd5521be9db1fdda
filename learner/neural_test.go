package learner

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/tokenizer"
)

var inputSetA = []string{"R_SHOUTING", "bayes:prob", "meta:urls"}

func digestOf(i int) feed.Digest {
	var d feed.Digest
	binary.LittleEndian.PutUint64(d[:], uint64(i)+1)
	return d
}

// nnRecord is a scan record of message i with inputs named names (in
// that order, names included) that a network can tell apart: spam has a
// high Bayes probability.
func nnRecord(i int, score float64, names []string) *feed.Record {
	rng := rand.New(rand.NewPCG(uint64(i), 9))
	in := &feed.Inputs{Set: nn.InputDigest(names), Names: names, Values: make([]float32, len(names))}
	for j, n := range names {
		in.Values[j] = float32(rng.Float64())
		if n != "bayes:prob" {
			continue
		}
		if score > 0 {
			in.Values[j] = 0.8 + 0.2*float32(rng.Float64())
		} else {
			in.Values[j] = 0.2 * float32(rng.Float64())
		}
	}
	return &feed.Record{Version: feed.Version, Time: time.Now(), Action: "no action", Score: score, Digest: digestOf(i), Inputs: in}
}

// TestNeuralInputsByName: records carry their names now and then
// (feed.Sender); one without names is placed by the names remembered for
// its set, one of a set never named is no sample, one whose names do not
// match its digest neither, and a vector in another order of the pools'
// set lands by name.
func TestNeuralInputsByName(t *testing.T) {
	m := &testDaemon{reg: prometheus.NewRegistry()}
	tr := newTrainer(testNeural(t.TempDir()), slog.New(slog.DiscardHandler), NewMetrics(m.reg))
	count := func(result string) float64 {
		return m.counter(t, "sluice_learner_neural_samples_total", map[string]string{"result": result})
	}
	unnamed := nnRecord(1, 10, []string{"X_NEVER_NAMED", "bayes:prob"})
	unnamed.Inputs.Names = nil
	tr.observe(unnamed)
	if p := tr.snapshot(); len(p.Spam) != 0 || count("unknown_inputs") != 1 {
		t.Fatalf("a record of an unnamed set: %d spam samples, %v counted", len(p.Spam), count("unknown_inputs"))
	}
	lying := nnRecord(2, 10, inputSetA)
	lying.Inputs.Set = nn.InputDigest([]string{"other"})
	tr.observe(lying)
	if p := tr.snapshot(); len(p.Spam) != 0 || count("bad_inputs") != 1 {
		t.Fatalf("names that do not match the digest: %d spam samples, %v counted", len(p.Spam), count("bad_inputs"))
	}

	named := nnRecord(3, 10, inputSetA)
	tr.observe(named)
	without := nnRecord(4, 10, inputSetA)
	want := slices.Clone(without.Inputs.Values)
	without.Inputs.Names = nil
	tr.observe(without)
	// The same set in another order: placed by name.
	rev := slices.Clone(inputSetA)
	slices.Reverse(rev)
	other := nnRecord(5, -5, rev)
	tr.observe(other)
	p := tr.snapshot()
	if !slices.Equal(p.Names, inputSetA) || len(p.Spam) != 2 || len(p.Ham) != 1 {
		t.Fatalf("pools %v: %d spam, %d ham", p.Names, len(p.Spam), len(p.Ham))
	}
	if !slices.Equal(p.Spam[1].X, want) {
		t.Errorf("the record without names: X %v, want %v", p.Spam[1].X, want)
	}
	for j, n := range rev {
		if i := slices.Index(p.Names, n); p.Ham[0].X[i] != other.Inputs.Values[j] {
			t.Errorf("%s: %v in the pools, %v in the record", n, p.Ham[0].X[i], other.Inputs.Values[j])
		}
	}
}

func testNeural(dir string) Neural {
	return Neural{
		File: filepath.Join(dir, "neural.nn"), PoolFile: filepath.Join(dir, "neural.pools"),
		SpamScore: 8, HamScore: -2, MaxTrain: 1 << 30, PoolSize: 10, MinClass: 4,
	}
}

func TestNeuralPoolsBalanceAndPersist(t *testing.T) {
	dir := t.TempDir()
	opts := testNeural(dir)
	m := &testDaemon{reg: prometheus.NewRegistry()}
	tr := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(m.reg))
	tr.label([32]byte(digestOf(100)), false, nil) // a user said ham before the scan record came
	for i := 0; i < 30; i++ {
		tr.observe(nnRecord(i, 10, inputSetA))
	}
	for i := 30; i < 35; i++ {
		tr.observe(nnRecord(i, -5, inputSetA))
	}
	tr.observe(nnRecord(35, 3, inputSetA))   // between the thresholds
	tr.observe(nnRecord(100, 12, inputSetA)) // labelled ham: the label wins
	tr.observe(nnRecord(31, -5, inputSetA))  // the same message again: replaced
	tr.observe(&feed.Record{Score: 20})      // no inputs: no sample
	p := tr.snapshot()
	if len(p.Spam) != 10 || len(p.Ham) != 6 {
		t.Fatalf("pools: %d spam, %d ham; want 10 (capped) and 6", len(p.Spam), len(p.Ham))
	}
	if p.Spam[0].Digest != [32]byte(digestOf(20)) || p.Ham[5].Digest != [32]byte(digestOf(31)) {
		t.Fatalf("pools keep the newest samples, a repeated message last")
	}
	if s := p.Ham[4]; s.Digest != [32]byte(digestOf(100)) || !s.Label {
		t.Fatalf("labelled record: %+v", s)
	}
	// An explicit learn moves a sample to its class.
	tr.label([32]byte(digestOf(29)), false, nil)
	tr.forget([32]byte(digestOf(30)))
	p = tr.snapshot()
	if len(p.Spam) != 9 || len(p.Ham) != 6 || p.Ham[5].Digest != [32]byte(digestOf(29)) {
		t.Fatalf("after learns: %d spam, %d ham", len(p.Spam), len(p.Ham))
	}
	if got := m.counter(t, "sluice_learner_neural_samples_total", map[string]string{"result": "between_thresholds"}); got != 1 {
		t.Fatalf("between thresholds counted %v", got)
	}

	// Persisted and read back as they were.
	if err := tr.save(); err != nil {
		t.Fatal(err)
	}
	tr2 := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(nil))
	p2 := tr2.snapshot()
	p.Saved, p2.Saved = time.Time{}, time.Time{}
	if !reflect.DeepEqual(p, p2) {
		t.Fatalf("pools after a restart differ:\n got %+v\nwant %+v", p2, p)
	}
	// The label survives the restart too.
	tr2.observe(nnRecord(29, 15, inputSetA))
	if p := tr2.snapshot(); p.Ham[len(p.Ham)-1].Digest != [32]byte(digestOf(29)) {
		t.Fatal("a label was lost in the restart")
	}

	// Training takes every sample of both pools, and trains exactly as
	// `sluice eval --nn` does (nn.Train with its defaults and the seed):
	// the published network is the one eval would train on these samples.
	before := tr2.snapshot()
	if err := tr2.trainOnceForTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := nn.Load(opts.File)
	if err != nil {
		t.Fatal(err)
	}
	if n.SpamSamples != uint64(len(before.Spam)) || n.HamSamples != uint64(len(before.Ham)) || n.Epoch != 1 {
		t.Fatalf("network trained on %d spam, %d ham, epoch %d; pools %d, %d", n.SpamSamples, n.HamSamples, n.Epoch, len(before.Spam), len(before.Ham))
	}
	want, _, err := nn.Train(before.Names, poolSamples(before.Spam, before.Ham), nn.TrainOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n.Hidden != want.Hidden || !slices.Equal(n.W1, want.W1) || !slices.Equal(n.W2, want.W2) || n.B2 != want.B2 {
		t.Fatalf("the learner's network (%d hidden) is not nn.Train's with eval's options (%d hidden)", n.Hidden, want.Hidden)
	}

	// A damaged pool file is refused: new pools.
	if err := os.WriteFile(opts.PoolFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(nil)).snapshot(); len(p.Spam)+len(p.Ham) != 0 {
		t.Fatal("a damaged pool file was used")
	}
}

// trainOnceForTest makes a training due and runs it.
func (t *trainer) trainOnceForTest(ctx context.Context) error {
	t.mu.Lock()
	t.p.New = t.opts.MaxTrain
	t.mu.Unlock()
	return t.trainOnce(ctx)
}

func TestNeuralInputSetChange(t *testing.T) {
	opts := testNeural(t.TempDir())
	m := &testDaemon{reg: prometheus.NewRegistry()}
	tr := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(m.reg))
	for i := 0; i < 8; i++ {
		tr.observe(nnRecord(i, 10*float64(i%2*2-1), inputSetA))
	}
	if err := tr.trainOnceForTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	setB := append([]string{"R_NEW_RULE"}, inputSetA...)
	tr.observe(nnRecord(50, 10, setB))
	p := tr.snapshot()
	if len(p.Spam) != 1 || len(p.Ham) != 0 || p.Epoch != 0 || p.Digest != nn.InputDigest(setB) || len(p.Names) != 4 {
		t.Fatalf("after an input set change: %d spam, %d ham, epoch %d, %d names", len(p.Spam), len(p.Ham), p.Epoch, len(p.Names))
	}
	// A scanner still on the old rule set does not flip the pools back.
	tr.observe(nnRecord(51, 10, inputSetA))
	if p := tr.snapshot(); p.Digest != nn.InputDigest(setB) || len(p.Spam) != 1 {
		t.Fatal("a record of the replaced input set reset the pools")
	}
	if got := m.counter(t, "sluice_learner_neural_samples_total", map[string]string{"result": "retired_inputs"}); got != 1 {
		t.Fatalf("retired counted %v", got)
	}
	// The next network is of the new input set, epoch 1.
	for i := 52; i < 60; i++ {
		tr.observe(nnRecord(i, 10*float64(i%2*2-1), setB))
	}
	if err := tr.trainOnceForTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, err := nn.Load(opts.File)
	if err != nil {
		t.Fatal(err)
	}
	if n.Digest != nn.InputDigest(setB) || n.Epoch != 1 {
		t.Fatalf("network of %d inputs, epoch %d", len(n.Inputs), n.Epoch)
	}
}

func TestNeuralMaxEpoch(t *testing.T) {
	opts := testNeural(t.TempDir())
	opts.MaxEpoch, opts.MaxTrain, opts.PoolSize = 2, 4, 10
	tr := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(nil))
	for i := 0; i < 20; i++ {
		tr.observe(nnRecord(i, 10*float64(i%2*2-1), inputSetA))
	}
	var epochs []uint64
	for range 3 {
		if err := tr.trainOnceForTest(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, err := nn.Load(opts.File)
		if err != nil {
			t.Fatal(err)
		}
		epochs = append(epochs, n.Epoch)
	}
	p := tr.snapshot()
	if !reflect.DeepEqual(epochs, []uint64{1, 2, 1}) || len(p.Spam) != 4 || len(p.Ham) != 4 {
		t.Fatalf("epochs %v, then %d spam and %d ham kept (want the newest max_train)", epochs, len(p.Spam), len(p.Ham))
	}
}

// TestNeuralPublishes runs the whole cycle in a daemon: scan records come
// through the feed, the daemon trains after MaxTrain of them and publishes
// a file that a Watcher (the milter's) loads.
func TestNeuralPublishes(t *testing.T) {
	dir := t.TempDir()
	opts := testNeural(dir)
	opts.MaxTrain, opts.PoolSize = 40, 100
	w := nn.NewWatcher(opts.File, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	d := startDaemon(t, Options{Neural: opts}, false)
	start := time.Now()
	for i := 0; i < 40; i++ {
		score := 10.0
		if i%2 == 1 {
			score = -5
		}
		if err := d.Feed().Send(nnRecord(i, score, inputSetA)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute) // a hang guard, not a timing assertion
	for w.Network() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no network was published and loaded")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("40 records to a network in service: %v", time.Since(start))
	n := w.Network()
	if n.Epoch != 1 || n.SpamSamples != 20 || n.HamSamples != 20 || n.Digest != nn.InputDigest(inputSetA) {
		t.Fatalf("network: epoch %d, %d spam, %d ham", n.Epoch, n.SpamSamples, n.HamSamples)
	}
	x := n.Fill(nil, []string{"bayes:prob"}, []float32{0.95})
	y := n.Fill(nil, []string{"bayes:prob"}, []float32{0.05})
	if n.Forward(x) <= n.Forward(y) {
		t.Fatalf("the network does not tell spam from ham: %v vs %v", n.Forward(x), n.Forward(y))
	}
	// The counter goes up once Save has returned, after the directory's
	// fsync; the watcher may load the file at the rename, before that.
	for got := d.counter(t, "sluice_learner_neural_trainings_total", map[string]string{"result": "published"}); got != 1; {
		if got > 1 || time.Now().After(deadline) {
			t.Fatalf("published %v", got)
		}
		time.Sleep(5 * time.Millisecond)
		got = d.counter(t, "sluice_learner_neural_trainings_total", map[string]string{"result": "published"})
	}
}

// TestNeuralShutdownDuringTraining stops the daemon while it trains: Run
// returns, the training is cancelled, nothing is published, and the
// pools are saved with the training still due.
func TestNeuralShutdownDuringTraining(t *testing.T) {
	dir := t.TempDir()
	opts := testNeural(dir)
	opts.MaxTrain, opts.PoolSize, opts.Hidden = 10, 2000, 256
	d := startDaemon(t, Options{}, false) // for a writer; a second daemon below
	d2 := New(d.w, Options{Neural: opts})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	// The training waits for the shutdown to begin, so that it is surely
	// under way when it does.
	d2.nets[""].training = func() { once.Do(func() { close(started) }); <-ctx.Done() }
	for i := 0; i < 4000; i++ {
		d2.nets[""].observe(nnRecord(i, 10*float64(i%2*2-1), inputSetA))
	}
	done := make(chan error, 1)
	go func() { done <- d2.Run(ctx) }()
	<-started
	stop := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("shutdown during training took %v", time.Since(stop))
	if _, err := os.Stat(opts.File); !os.IsNotExist(err) {
		t.Fatalf("a cancelled training published: %v", err)
	}
	p, err := loadPools(opts.PoolFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spam) != 2000 || len(p.Ham) != 2000 || p.New < opts.MaxTrain {
		t.Fatalf("saved pools: %d spam, %d ham, %d new", len(p.Spam), len(p.Ham), p.New)
	}
}

// TestNeuralExplicitLearnLabels: a learn through the daemon labels the
// message's pooled sample (by content digest), and a forget drops it.
func TestNeuralExplicitLearnLabels(t *testing.T) {
	opts := testNeural(t.TempDir())
	d := startDaemon(t, Options{Neural: opts}, false)
	m := spam(7)
	res, err := tokenizer.New(tokenizer.Options{}).Tokenize(bytes.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	r := nnRecord(0, -5, inputSetA) // scanned as ham
	r.Digest = feed.Digest(res.Digest)
	d.nets[""].observe(r)
	mustLearn(t, d.Daemon, Spam, m, "", learn.Learned)
	p := d.nets[""].snapshot()
	if len(p.Spam) != 1 || len(p.Ham) != 0 || !p.Spam[0].Label || p.Spam[0].Digest != res.Digest {
		t.Fatalf("after learn spam: %d spam, %d ham", len(p.Spam), len(p.Ham))
	}
	mustLearn(t, d.Daemon, Forget, m, "", learn.Forgotten)
	if p := d.nets[""].snapshot(); len(p.Spam)+len(p.Ham) != 0 || len(p.Labels) != 0 {
		t.Fatalf("after forget: %d spam, %d ham, %d labels", len(p.Spam), len(p.Ham), len(p.Labels))
	}
}

// TestNeuralUseSettings: with a network per settings profile, each
// profile's records train its own pools and file, records of the default
// or an unknown profile train the default network, and an explicit learn
// labels the message in every network's pools.
func TestNeuralUseSettings(t *testing.T) {
	dir := t.TempDir()
	def := testNeural(dir)
	def.MaxTrain, def.PoolSize = 20, 100
	fin := def
	fin.File, fin.PoolFile = filepath.Join(dir, "neural.finance.nn"), filepath.Join(dir, "neural.finance.nn.pools")
	d := startDaemon(t, Options{Neural: def, NeuralProfiles: map[string]Neural{"finance": fin}}, false)
	send := func(i int, score float64, profile string) {
		r := nnRecord(i, score, inputSetA)
		r.Profile = profile
		if err := d.Feed().Send(r); err != nil {
			t.Fatal(err)
		}
	}
	// 20 for finance; 10 for the default profile and 10 for a profile the
	// learner does not know, which go to the default network too.
	for i := range 20 {
		send(i, 10-15*float64(i%2), "finance")
	}
	for i := 20; i < 40; i++ {
		profile := ""
		if i >= 30 {
			profile = "unknown"
		}
		send(i, 10-15*float64(i%2), profile)
	}
	deadline := time.Now().Add(time.Minute) // a hang guard, not a timing assertion
	for {
		a, errA := nn.Load(def.File)
		b, errB := nn.Load(fin.File)
		if errA == nil && errB == nil {
			if a.SpamSamples != 10 || b.SpamSamples != 10 || a.Epoch != 1 || b.Epoch != 1 {
				t.Fatalf("default: %d spam samples, epoch %d; finance: %d, epoch %d", a.SpamSamples, a.Epoch, b.SpamSamples, b.Epoch)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("networks not published: %v; %v", errA, errB)
		}
		time.Sleep(5 * time.Millisecond)
	}
	pf, pd := d.nets["finance"].snapshot(), d.nets[""].snapshot()
	has := func(p Pools, i int) bool {
		for _, s := range append(p.Spam, p.Ham...) {
			if s.Digest == [32]byte(digestOf(i)) {
				return true
			}
		}
		return false
	}
	if !has(pf, 0) || has(pd, 0) || !has(pd, 20) || has(pf, 20) || !has(pd, 30) {
		t.Fatal("records went to the wrong profile's pools")
	}

	// An explicit learn of a message finance's pools hold as ham moves it
	// to spam there, and is remembered by the default network's pools too.
	m := spam(3)
	res, err := tokenizer.New(tokenizer.Options{}).Tokenize(bytes.NewReader(m))
	if err != nil {
		t.Fatal(err)
	}
	r := nnRecord(99, -5, inputSetA)
	r.Digest, r.Profile = feed.Digest(res.Digest), "finance"
	d.nets["finance"].observe(r)
	mustLearn(t, d.Daemon, Spam, m, "", learn.Learned)
	for name, tr := range d.nets {
		tr.mu.Lock()
		spam, ok := tr.labels[res.Digest]
		where, pooled := tr.where[res.Digest]
		tr.mu.Unlock()
		if !ok || !spam {
			t.Errorf("profile %q: no spam label", name)
		}
		if (name == "finance") != pooled || (pooled && !where) {
			t.Errorf("profile %q: pooled %v, in the spam pool %v", name, pooled, where)
		}
	}
}

// TestNeuralTrainingsPending: trainings_pending counts the networks whose
// training is due (max_train new samples, MinClass of each class) or
// running, and drops back once the network is published; new_samples
// follows the samples not trained on yet.
func TestNeuralTrainingsPending(t *testing.T) {
	m := &testDaemon{reg: prometheus.NewRegistry()}
	metrics := NewMetrics(m.reg)
	pending := func() float64 { return m.counter(t, "sluice_learner_neural_trainings_pending", nil) }
	fresh := func() float64 { return m.counter(t, "sluice_learner_neural_new_samples", nil) }
	newTr := func() *trainer {
		opts := testNeural(t.TempDir())
		opts.MaxTrain = 6 // MinClass 4
		return newTrainer(opts, slog.New(slog.DiscardHandler), metrics)
	}
	a, b := newTr(), newTr() // two networks (settings profiles) on one registry
	steps := []struct {
		tr    *trainer
		i     int
		score float64
		want  float64
	}{
		{a, 0, 10, 0}, {a, 1, 10, 0}, {a, 2, 10, 0}, {a, 3, 10, 0}, {a, 4, 10, 0},
		{a, 5, -5, 0}, // 6 new samples, but one ham
		{a, 6, -5, 0}, {a, 7, -5, 0},
		{a, 8, -5, 1}, // four of each: due
		{a, 9, 3, 1},  // between the thresholds: no sample, still due
		{b, 0, 10, 1}, {b, 1, 10, 1}, {b, 2, 10, 1}, {b, 3, 10, 1},
		{b, 4, -5, 1}, {b, 5, -5, 1}, {b, 6, -5, 1},
		{b, 7, -5, 2}, // the other network is due too
	}
	for n, s := range steps {
		s.tr.observe(nnRecord(s.i, s.score, inputSetA))
		if got := pending(); got != s.want {
			t.Fatalf("step %d: pending %v, want %v", n, got, s.want)
		}
	}
	if got := fresh(); got != 9+8 {
		t.Fatalf("new samples %v, want 17", got)
	}
	var during float64
	a.training = func() { during = pending() }
	if err := a.trainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if during != 2 || pending() != 1 {
		t.Fatalf("pending %v while training, %v after; want 2 and 1", during, pending())
	}
	if got := fresh(); got != 8 {
		t.Fatalf("new samples %v after a's training, want b's 8", got)
	}
	if err := b.trainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := pending(); got != 0 || fresh() != 0 {
		t.Fatalf("pending %v, new samples %v with both networks published", got, fresh())
	}
	if _, err := nn.Load(a.opts.File); err != nil {
		t.Fatalf("network a not published: %v", err)
	}
}

// TestNeuralUnsureWaitsForALabel: a record between the thresholds is no
// sample by itself, but an explicit learn that comes after it makes it
// one of its class; at most PoolSize of them wait, the oldest go first.
func TestNeuralUnsureWaitsForALabel(t *testing.T) {
	opts := testNeural(t.TempDir())
	tr := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(nil))
	for i := range 15 { // PoolSize 10: records 0-4 are dropped
		tr.observe(nnRecord(i, 3, inputSetA))
	}
	if p := tr.snapshot(); len(p.Spam)+len(p.Ham) != 0 {
		t.Fatalf("unlabelled unsure records in the pools: %d spam, %d ham", len(p.Spam), len(p.Ham))
	}
	tr.label([32]byte(digestOf(2)), true, nil)  // dropped: nothing to label
	tr.label([32]byte(digestOf(7)), true, nil)  // waiting: a spam sample
	tr.label([32]byte(digestOf(8)), false, nil) // waiting: a ham sample
	tr.forget([32]byte(digestOf(9)))
	tr.label([32]byte(digestOf(9)), true, nil) // forgotten before: gone
	p := tr.snapshot()
	if len(p.Spam) != 1 || len(p.Ham) != 1 || p.Spam[0].Digest != [32]byte(digestOf(7)) || !p.Spam[0].Label || p.Ham[0].Digest != [32]byte(digestOf(8)) {
		t.Fatalf("pools after labels: spam %d, ham %d: %+v", len(p.Spam), len(p.Ham), p)
	}
	if p.New != 2 {
		t.Fatalf("new samples %d, want 2", p.New)
	}
}
