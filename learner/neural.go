package learner

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/internal/atomicfile"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/tokenizer"
)

// Neural configures the neural network's training cycle in the daemon.
// The zero value (no File) trains nothing. Zero numbers take the defaults
// noted.
type Neural struct {
	File      string  // network file published with nn.Save; "" trains nothing
	PoolFile  string  // pools persisted here (atomically); "" keeps them in memory
	SpamScore float64 // a scan record at or above this score is a spam sample
	HamScore  float64 // at or below this score, a ham sample
	MaxTrain  int     // new samples after which the network is trained (1000)
	MaxEpoch  int     // publications after which a fresh network starts (100)
	PoolSize  int     // samples kept per class (5000)
	MinClass  int     // samples each class needs before a training (10)
	Hidden    int     // hidden units (0: nn's default)
	Seed      uint64  // training seed (1): the same pools give the same network
	// Weight is the weight the scanners give the network's log-odds
	// ([neural] spam_weight); nn.Train chooses its shrinkage for it (0: 1).
	Weight float64
	// Rescorer, when set, rescores at every training the samples of
	// explicitly learned messages leave-one-out (Daemon sets it from
	// Options.NewRescorer).
	Rescorer Rescorer
}

// Rescorer gives the network's Bayes inputs of a message the statfile
// holds as if it had not been learned (*scan.Scanner provides it), from
// the shared statistics (or the message's language's): a sample's own
// user's statistics, which a scan with per-user statistics may have
// used, are not consulted.
//
// Why: a pool sample's inputs are those of the scan that made its record,
// against the statistics of that moment, which on a young site are far
// weaker than the statistics the network will serve next to (at the
// first batches Bayes is still silent). On the public corpus, networks
// trained on such verdicts (each message scanned before it was learned,
// in 10 batches, as the replay feeds a site) ranked worse than Bayes
// alone on the 4-fold cross-validation means ((1-AUC)% 0.0265 against
// 0.0235 raw), while networks trained on leave-one-out verdicts of the
// final statistics ranked better (0.0200). So every training rescores
// the samples it can: those whose explicit learn gave their tokens.
type Rescorer interface {
	// BayesInputNames names the inputs BayesInputs gives values of.
	BayesInputNames() []string
	// BayesInputs scores the tokenized message, learned as class, as if
	// it had not been learned.
	BayesInputs(res *tokenizer.Result, class mmapstore.Class) ([]float32, error)
}

// maxSampleTokens bounds the tokens a pool sample keeps for rescoring
// (9 bytes each); a message with more keeps the inputs of its scan. Most
// mail has far fewer (the public corpus: mean 731, 90% at most 1,348), so
// full default pools (2 × 5,000 samples) hold about 66 MB of them, 184 MB
// at most.
const maxSampleTokens = 2048

func (o *Neural) withDefaults() {
	if o.MaxTrain <= 0 {
		o.MaxTrain = 1000
	}
	if o.MaxEpoch <= 0 {
		o.MaxEpoch = 100
	}
	if o.PoolSize <= 0 {
		o.PoolSize = 5000
	}
	if o.MinClass < 2 {
		o.MinClass = 10
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

// trainOptions are the options of every training: nn.Train's defaults
// (the Bayes score as offset, nn.DefaultMembers networks averaged,
// nn.DefaultHamCost, the log-odds shrunk by nn.DefaultShrinkFolds folds of
// the pools), the recipe `sluice eval --nn` measures.
func (o *Neural) trainOptions(ctx context.Context) nn.TrainOptions {
	return nn.TrainOptions{Seed: o.Seed, Hidden: o.Hidden, Weight: o.Weight, Context: ctx}
}

// poolSamples are the training samples of the pools: every sample of
// both classes (nn.Train weighs the classes equal), spam first. Dropping
// the surplus of the larger class, as a balanced cut did, threw away the
// ham that shows the network where false positives lie.
func poolSamples(spam, ham []Sample) []nn.Sample {
	samples := make([]nn.Sample, 0, len(spam)+len(ham))
	for _, s := range spam {
		samples = append(samples, nn.Sample{X: s.X, Spam: true})
	}
	for _, s := range ham {
		samples = append(samples, nn.Sample{X: s.X})
	}
	return samples
}

// poolVersion is the version of the pool file.
const poolVersion = 1

// maxRetired bounds the input sets remembered as replaced.
const maxRetired = 8

// Sample is one training vector of the pools, in Pools.Names order.
type Sample struct {
	Digest [32]byte // the message's content digest (the learn cache's key)
	X      []float32
	Label  bool // class set by an explicit learn, not by the score
	// Tokens and Shapes are the message's tokens as its explicit learn
	// tokenized them: hashes, and each one's Dist | Kind<<4. With a
	// Rescorer each training replaces the Bayes inputs of X by the
	// message's leave-one-out verdict against the statfile as it is
	// then; nil (no explicit learn yet, too many tokens, pools written
	// before): X as scanned.
	Tokens []uint64
	Shapes []uint8
	// Language is the message's language as its learn detected it (""
	// without per-language statistics): the rescoring looks where the
	// scanner would.
	Language string
}

// withTokens returns s with res's tokens kept (at most maxSampleTokens).
func (s Sample) withTokens(res *tokenizer.Result) Sample {
	s.Tokens, s.Shapes, s.Language = nil, nil, ""
	if res == nil || len(res.Tokens) == 0 || len(res.Tokens) > maxSampleTokens {
		return s
	}
	s.Language = res.Language
	s.Tokens, s.Shapes = make([]uint64, len(res.Tokens)), make([]uint8, len(res.Tokens))
	for i, tk := range res.Tokens {
		s.Tokens[i], s.Shapes[i] = tk.Hash, min(tk.Dist, 15)|uint8(tk.Kind)<<4
	}
	return s
}

// result rebuilds the tokenized message a rescoring needs.
func (s *Sample) result() *tokenizer.Result {
	toks := make([]tokenizer.Token, len(s.Tokens))
	for i, h := range s.Tokens {
		toks[i] = tokenizer.Token{Hash: h, Dist: s.Shapes[i] & 15, Kind: tokenizer.Kind(s.Shapes[i] >> 4)}
	}
	return &tokenizer.Result{Tokens: toks, Digest: s.Digest, Language: s.Language}
}

// ExplicitLabel is an explicit learn's class for a message.
type ExplicitLabel struct {
	Digest [32]byte
	Spam   bool
}

// Pools are the training samples of one input set: what the pool file
// holds. Exported for encoding/gob and tests.
type Pools struct {
	Version int
	// Names are the input names in the order of the samples' X and of
	// the network's inputs: the scanner's order for pools started from
	// feed.Inputs, sorted in files written before; either reads the same,
	// since a record's values are placed by name (trainer.place).
	Names     []string
	Digest    [32]byte // nn.InputDigest(Names)
	Spam, Ham []Sample // oldest first, at most PoolSize each
	New       int      // samples added since the last training
	Epoch     uint64   // publications of this input set's current network
	Retired   [][32]byte
	Labels    []ExplicitLabel // explicit learns, oldest first
	Saved     time.Time
}

// trainer keeps the pools and trains and publishes the network. observe
// and label are called from the daemon's goroutines; run is the training
// goroutine.
type trainer struct {
	opts Neural
	log  *slog.Logger
	m    *Metrics

	mu     sync.Mutex
	p      Pools
	where  map[[32]byte]bool // digest → in the spam pool (else ham)
	labels map[[32]byte]bool // explicit learns: digest → spam
	kick   chan struct{}     // a training is due
	// unsure holds the samples of records that scored between the
	// thresholds, waiting for an explicit learn to give them a class (a
	// user moving a message Bayes was unsure about is the sample the
	// network learns most from); the oldest go first beyond PoolSize.
	// Not persisted; under mu.
	unsure      map[[32]byte]Sample
	unsureOrder [][32]byte

	// running is true while trainOnce trains; pending and shownNew are
	// what this trainer adds to the trainings_pending gauge (running or
	// due) and to the new_samples gauge (p.New); under mu.
	running, pending bool
	shownNew         int

	saveMu sync.Mutex // one pool file write at a time

	training func() // tests: called as a training starts

	// sets are the names of the input sets seen in scan records, by
	// digest (records carry the names only now and then: feed.Sender);
	// at most maxSets, under mu.
	sets map[[32]byte][]string
	// perm places a record's values into pool order when its names are
	// the same set in another order: permOf is the names it was made for
	// (nil: pool order itself); under mu.
	perm   []int
	permOf []string
}

// maxSets bounds the input sets whose names the trainer remembers.
const maxSets = 16

func newTrainer(opts Neural, log *slog.Logger, m *Metrics) *trainer {
	opts.withDefaults()
	t := &trainer{opts: opts, log: log, m: m, kick: make(chan struct{}, 1)}
	t.p.Version = poolVersion
	if opts.PoolFile != "" {
		p, err := loadPools(opts.PoolFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			log.Warn("learner: neural pools unreadable, starting new ones", "file", opts.PoolFile, "err", err)
		default:
			t.p = *p
			log.Info("learner: neural pools loaded", "file", opts.PoolFile, "spam", len(p.Spam), "ham", len(p.Ham),
				"new", p.New, "epoch", p.Epoch, "inputs", len(p.Names))
		}
	}
	t.rebuild()
	t.trim()
	return t
}

// rebuild recomputes the indexes from t.p.
func (t *trainer) rebuild() {
	t.where = make(map[[32]byte]bool, len(t.p.Spam)+len(t.p.Ham))
	for _, s := range t.p.Spam {
		t.where[s.Digest] = true
	}
	for _, s := range t.p.Ham {
		t.where[s.Digest] = false
	}
	t.labels = make(map[[32]byte]bool, len(t.p.Labels))
	for _, l := range t.p.Labels {
		t.labels[l.Digest] = l.Spam
	}
}

// trim enforces the caps (after a load with a smaller pool size).
func (t *trainer) trim() {
	for _, pool := range []*[]Sample{&t.p.Spam, &t.p.Ham} {
		for len(*pool) > t.opts.PoolSize {
			t.dropOldest(pool)
		}
	}
	t.compactLabels()
}

func (t *trainer) dropOldest(pool *[]Sample) {
	delete(t.where, (*pool)[0].Digest)
	(*pool)[0] = Sample{}
	*pool = (*pool)[1:]
}

// due reports whether a training should start; under mu.
func (t *trainer) due() bool {
	return t.p.New >= t.opts.MaxTrain && len(t.p.Spam) >= t.opts.MinClass && len(t.p.Ham) >= t.opts.MinClass
}

// observe adds a scan record with an input vector to the pools: spam at
// score >= SpamScore, ham at <= HamScore, or the class an explicit learn
// gave the message, which wins; a record between the thresholds waits
// for an explicit learn (holdUnsure). A record of another input set starts new
// pools (and so a new network); records of an input set replaced before
// are ignored, so that scanners of two rule sets during a rollout do not
// reset the pools back and forth.
func (t *trainer) observe(r *feed.Record) {
	in := r.Inputs
	if in == nil || len(in.Values) == 0 {
		return
	}
	digest := [32]byte(in.Set)
	t.mu.Lock()
	defer t.mu.Unlock()
	names, ok := t.namesOf(in)
	if !ok {
		return
	}
	if digest != t.p.Digest {
		if slices.Contains(t.p.Retired, digest) {
			t.m.nnSamples.WithLabelValues("retired_inputs").Inc()
			return
		}
		t.reset(names, digest)
	}
	spam, labelled := t.labels[[32]byte(r.Digest)]
	switch {
	case labelled:
	case r.Score >= t.opts.SpamScore:
		spam = true
	case r.Score <= t.opts.HamScore:
		spam = false
	default:
		t.m.nnSamples.WithLabelValues("between_thresholds").Inc()
		t.holdUnsure(Sample{Digest: [32]byte(r.Digest), X: t.place(names, in.Values)})
		return
	}
	t.add(Sample{Digest: [32]byte(r.Digest), X: t.place(names, in.Values), Label: labelled}, spam)
	if spam {
		t.m.nnSamples.WithLabelValues("spam").Inc()
	} else {
		t.m.nnSamples.WithLabelValues("ham").Inc()
	}
}

// namesOf returns the names of the record's input set, in the order of
// its values: the record's own, checked against its digest and
// remembered, or those remembered for its digest. A record whose names
// do not match its digest, or of a set not seen yet without names, is no
// sample (counted); under mu.
func (t *trainer) namesOf(in *feed.Inputs) ([]string, bool) {
	digest := [32]byte(in.Set)
	known, ok := t.sets[digest]
	if in.Names == nil {
		if !ok || len(known) != len(in.Values) {
			t.m.nnSamples.WithLabelValues("unknown_inputs").Inc()
			return nil, false
		}
		return known, true
	}
	if ok && slices.Equal(known, in.Names) {
		return known, true
	}
	if nn.InputDigest(in.Names) != digest {
		t.m.nnSamples.WithLabelValues("bad_inputs").Inc()
		return nil, false
	}
	if t.sets == nil {
		t.sets = make(map[[32]byte][]string)
	}
	if len(t.sets) >= maxSets && !ok {
		for d := range t.sets { // forget any other set
			if d != t.p.Digest {
				delete(t.sets, d)
				break
			}
		}
	}
	names := slices.Clone(in.Names)
	t.sets[digest] = names
	return names, true
}

// place returns values, given in the order of names (the pools' input
// set), as a new vector in pool order; under mu.
func (t *trainer) place(names []string, values []float32) []float32 {
	x := make([]float32, len(t.p.Names))
	if slices.Equal(names, t.p.Names) {
		copy(x, values)
		return x
	}
	if !slices.Equal(t.permOf, names) {
		at := make(map[string]int, len(t.p.Names))
		for i, n := range t.p.Names {
			at[n] = i
		}
		t.perm = make([]int, len(names))
		for j, n := range names {
			t.perm[j] = at[n] // the same set: every name is there
		}
		t.permOf = names
	}
	for j, v := range values {
		x[t.perm[j]] = v
	}
	return x
}

// reset starts new pools for another input set; under mu.
func (t *trainer) reset(names []string, digest [32]byte) {
	if len(t.p.Names) > 0 {
		t.log.Info("learner: the network's input set changed: new pools and a new network",
			"inputs", len(names), "old_inputs", len(t.p.Names), "dropped_spam", len(t.p.Spam), "dropped_ham", len(t.p.Ham))
		t.p.Retired = append(t.p.Retired, t.p.Digest)
		if len(t.p.Retired) > maxRetired {
			t.p.Retired = t.p.Retired[len(t.p.Retired)-maxRetired:]
		}
	}
	t.p.Names, t.p.Digest = slices.Clone(names), digest
	t.perm, t.permOf = nil, nil
	t.p.Spam, t.p.Ham, t.p.New, t.p.Epoch = nil, nil, 0, 0
	clear(t.where)
	clear(t.unsure)
	t.unsureOrder = nil
	t.showPending()
}

// add puts s in its class's pool, replacing a sample of the same message,
// dropping the class's oldest past PoolSize; under mu.
func (t *trainer) add(s Sample, spam bool) {
	t.remove(s.Digest)
	pool := &t.p.Ham
	if spam {
		pool = &t.p.Spam
	}
	*pool = append(*pool, s)
	t.where[s.Digest] = spam
	if len(*pool) > t.opts.PoolSize {
		t.dropOldest(pool)
	}
	t.p.New++
	if t.due() {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
	t.showPending()
}

// showPending keeps the gauges in step with this network: new_samples
// with p.New, trainings_pending counting it while a training is due or
// running; under mu. bench/replay.sh reads both, so that what it measures
// does not depend on how fast training is: it sends no more mail than
// max_train - new_samples before the pending training is done.
func (t *trainer) showPending() {
	if d := t.p.New - t.shownNew; d != 0 {
		t.m.nnNew.Add(float64(d))
		t.shownNew = t.p.New
	}
	p := t.running || t.due()
	if p == t.pending {
		return
	}
	t.pending = p
	if p {
		t.m.nnPending.Inc()
	} else {
		t.m.nnPending.Dec()
	}
}

// remove takes the message's sample out of the pools; under mu.
func (t *trainer) remove(digest [32]byte) (Sample, bool) {
	spam, ok := t.where[digest]
	if !ok {
		return Sample{}, false
	}
	delete(t.where, digest)
	pool := &t.p.Ham
	if spam {
		pool = &t.p.Spam
	}
	i := slices.IndexFunc(*pool, func(s Sample) bool { return s.Digest == digest })
	if i < 0 {
		return Sample{}, false
	}
	s := (*pool)[i]
	*pool = slices.Delete(*pool, i, i+1)
	return s, true
}

// label records an explicit learn: the message is spam (or ham) whatever
// its score, now and for records that come later. A sample of it in the
// other pool moves. res is the message as the learn tokenized it (nil:
// unknown): its sample keeps the tokens for rescoring.
func (t *trainer) label(digest [32]byte, spam bool, res *tokenizer.Result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.labels[digest] = spam
	t.p.Labels = append(t.p.Labels, ExplicitLabel{Digest: digest, Spam: spam})
	if len(t.p.Labels) > 4*t.opts.PoolSize {
		t.compactLabels()
	}
	if s, ok := t.remove(digest); ok {
		s.Label = true
		t.add(s.withTokens(res), spam) // counted as one new sample
	} else if s, ok := t.unsure[digest]; ok {
		delete(t.unsure, digest)
		s.Label = true
		t.add(s.withTokens(res), spam)
	}
}

// holdUnsure keeps the sample of a record between the thresholds until an
// explicit learn labels it (label), at most PoolSize of them; under mu.
func (t *trainer) holdUnsure(s Sample) {
	if t.unsure == nil {
		t.unsure = make(map[[32]byte]Sample)
	}
	if _, ok := t.unsure[s.Digest]; !ok {
		t.unsureOrder = append(t.unsureOrder, s.Digest)
	}
	t.unsure[s.Digest] = s
	for len(t.unsure) > t.opts.PoolSize && len(t.unsureOrder) > 0 {
		delete(t.unsure, t.unsureOrder[0])
		t.unsureOrder = t.unsureOrder[1:]
	}
	if len(t.unsureOrder) > 2*t.opts.PoolSize { // labelled ones leave holes
		live := t.unsureOrder[:0]
		for _, d := range t.unsureOrder {
			if _, ok := t.unsure[d]; ok {
				live = append(live, d)
			}
		}
		t.unsureOrder = live
	}
}

// forget undoes an explicit learn: the label goes, and so does the
// message's sample.
func (t *trainer) forget(digest [32]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.labels, digest)
	t.remove(digest)
	delete(t.unsure, digest)
}

// compactLabels keeps the newest label of each message, at most
// 2 × PoolSize of them; under mu.
func (t *trainer) compactLabels() {
	keep := 2 * t.opts.PoolSize
	seen := make(map[[32]byte]bool)
	var out []ExplicitLabel
	for i := len(t.p.Labels) - 1; i >= 0 && len(out) < keep; i-- {
		d := t.p.Labels[i].Digest
		spam, ok := t.labels[d]
		if !ok || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, ExplicitLabel{Digest: d, Spam: spam})
	}
	slices.Reverse(out)
	t.p.Labels = out
	t.labels = make(map[[32]byte]bool, len(out))
	for _, l := range out {
		t.labels[l.Digest] = l.Spam
	}
}

// run trains whenever MaxTrain new samples have come, until ctx ends; a
// training in progress is cancelled then.
func (t *trainer) run(ctx context.Context) {
	t.mu.Lock()
	if t.due() {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
	t.showPending()
	t.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.kick:
		}
		if err := t.trainOnce(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn("learner: neural training failed", "err", err)
		}
	}
}

// trainOnce trains on the pools and
// publishes the network. After MaxEpoch publications the pools are cut to
// their newest MaxTrain samples per class and the network starts afresh
// (epoch 1): it follows recent mail instead of all mail ever seen.
func (t *trainer) trainOnce(ctx context.Context) error {
	t.mu.Lock()
	if !t.due() {
		t.mu.Unlock()
		return nil
	}
	if t.p.Epoch >= uint64(t.opts.MaxEpoch) {
		for _, pool := range []*[]Sample{&t.p.Spam, &t.p.Ham} {
			for len(*pool) > t.opts.MaxTrain && len(*pool) > t.opts.MinClass {
				t.dropOldest(pool)
			}
		}
		t.log.Info("learner: max_epoch publications reached: a fresh network on recent data",
			"epoch", t.p.Epoch, "spam", len(t.p.Spam), "ham", len(t.p.Ham))
		t.p.Epoch = 0
	}
	names, digest, epoch, taken := t.p.Names, t.p.Digest, t.p.Epoch, t.p.New
	samples := poolSamples(t.p.Spam, t.p.Ham)
	pooled := append(slices.Clone(t.p.Spam), t.p.Ham...) // in samples' order
	t.p.New = 0
	t.running = true
	t.showPending()
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.running = false
		t.showPending()
		t.mu.Unlock()
	}()

	if t.training != nil {
		t.training()
	}
	start := time.Now()
	rescored := t.rescore(ctx, names, pooled, samples)
	net, rep, err := nn.Train(names, samples, t.opts.trainOptions(ctx))
	if err != nil {
		t.mu.Lock()
		if t.p.Digest == digest {
			t.p.New += taken // try again with the next sample
		}
		t.mu.Unlock()
		t.m.nnTrainings.WithLabelValues("failed").Inc()
		return err
	}
	t.mu.Lock()
	if t.p.Digest != digest {
		t.mu.Unlock()
		t.m.nnTrainings.WithLabelValues("discarded").Inc()
		return nil // the input set changed meanwhile
	}
	t.p.Epoch = epoch + 1
	t.mu.Unlock()
	net.Epoch = epoch + 1
	if err := nn.Save(t.opts.File, net); err != nil {
		t.m.nnTrainings.WithLabelValues("failed").Inc()
		return err
	}
	t.m.nnTrainings.WithLabelValues("published").Inc()
	t.log.Info("learner: neural network published", "file", t.opts.File, "epoch", net.Epoch,
		"spam_samples", net.SpamSamples, "ham_samples", net.HamSamples, "inputs", len(names), "epochs", rep.Epochs, "best_epoch", rep.BestEpoch,
		"holdout_loss", rep.HoldoutLoss, "rescored", rescored, "shrink", rep.Shrink, "offset_auc", rep.OffsetAUC, "shrunk_auc", rep.ShrunkAUC, "took", time.Since(start).Round(time.Millisecond))
	if err := t.save(); err != nil {
		t.log.Warn("learner: save neural pools", "err", err)
	}
	return nil
}

// rescore replaces the Bayes inputs of every sample that kept its tokens
// by its leave-one-out verdict against the statfile as it is now
// (Rescorer): samples[i] is pooled[i]'s training sample, in names order.
// It returns how many were rescored; a sample that fails keeps its
// inputs, and once ctx is done the rest keep theirs (the training that
// follows stops too). Called without mu: pool samples' slices are never
// changed in place, and X is replaced, not written.
func (t *trainer) rescore(ctx context.Context, names []string, pooled []Sample, samples []nn.Sample) int {
	r := t.opts.Rescorer
	if r == nil {
		return 0
	}
	var at []int
	for _, n := range r.BayesInputNames() {
		i := slices.Index(names, n)
		if i < 0 {
			return 0 // not inputs of this network
		}
		at = append(at, i)
	}
	n := 0
	for i := range pooled {
		if i%256 == 0 && ctx.Err() != nil {
			return n
		}
		s := &pooled[i]
		if s.Tokens == nil || len(s.Shapes) != len(s.Tokens) {
			continue
		}
		class := mmapstore.Ham
		if samples[i].Spam {
			class = mmapstore.Spam
		}
		vals, err := r.BayesInputs(s.result(), class)
		if err != nil || len(vals) != len(at) {
			continue
		}
		x := slices.Clone(samples[i].X)
		for k, j := range at {
			x[j] = vals[k]
		}
		samples[i].X = x
		n++
	}
	return n
}

// snapshot copies the pools for writing or inspection.
func (t *trainer) snapshot() Pools {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.compactLabels()
	p := t.p
	p.Names = slices.Clone(p.Names)
	p.Spam, p.Ham = slices.Clone(p.Spam), slices.Clone(p.Ham)
	p.Retired, p.Labels = slices.Clone(p.Retired), slices.Clone(p.Labels)
	return p
}

// save writes the pools to PoolFile atomically (temporary file, fsync,
// rename, fsync of the directory).
func (t *trainer) save() error {
	if t.opts.PoolFile == "" {
		return nil
	}
	t.saveMu.Lock()
	defer t.saveMu.Unlock()
	p := t.snapshot()
	p.Saved = time.Now().UTC()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&p); err != nil {
		return fmt.Errorf("encode neural pools: %w", err)
	}
	return atomicfile.Write(t.opts.PoolFile, b.Bytes(), nil)
}

// ReadPools reads and checks a pool file (for `sluice stat`); the
// learner owns the file and replaces it atomically, so reading it while
// the learner runs is safe.
func ReadPools(path string) (*Pools, error) { return loadPools(path) }

func loadPools(path string) (*Pools, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Pools
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&p); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if p.Version != poolVersion {
		return nil, fmt.Errorf("%s: pool file version %d, want %d", path, p.Version, poolVersion)
	}
	// Pools saved before any scan record have no input set yet: no names,
	// a zero digest (and, checked below, no samples).
	empty := len(p.Names) == 0 && p.Digest == [32]byte{}
	if !empty && nn.InputDigest(p.Names) != p.Digest {
		return nil, fmt.Errorf("%s: input names do not match their digest", path)
	}
	for _, pool := range [][]Sample{p.Spam, p.Ham} {
		for _, s := range pool {
			if len(s.X) != len(p.Names) {
				return nil, fmt.Errorf("%s: a sample of %d values for %d inputs", path, len(s.X), len(p.Names))
			}
		}
	}
	p.New = max(p.New, 0)
	return &p, nil
}
