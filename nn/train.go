package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Sample is one training vector (in the order of the names given to
// Train) and its class.
type Sample struct {
	X    []float32
	Spam bool
	// Offset is log-odds of spam the network's output is added to (what
	// another classifier already said, e.g. Bayes): the network learns
	// what the offset misses, and offset + Network.LogOdds is the
	// combined log-odds. 0: the network alone.
	Offset float64
}

// OffsetInput names the input that, when a network has it, is also the
// network's offset: the log-odds its output is added to (Sample.Offset).
// Train uses it as every sample's Offset, and a scanner adds
// Network.LogOdds to it.
const OffsetInput = "bayes:score"

// Defaults of TrainOptions.HamCost, Members and the members' hidden
// units, chosen by 4-fold cross-validation over the public SpamAssassin
// corpus (each fold's network trained on leave-one-out verdicts of its
// train part only) and by 4 inner folds of the published train split,
// each figure the mean of training seeds 1-3. (1-AUC)% / FN at FP <= 0.1%,
// means raw / stripped / inner: 9 members of 16 hidden units 0.0195 /
// 2.78%, 0.0225 / 3.04%, 0.0193 / 5.23%; 3 members of 1.5 × inputs (28,
// before) 0.0204 / 2.97%, 0.0243 / 4.01%, 0.0200 / 5.66%; 9 of 28 0.0202
// / 3.07%, 0.0215 / 3.41%, 0.0200 / 5.46%; 9 of 8 0.0205 / 3.11%, 0.0217
// / 3.18%, 0.0180 / 5.03%; 9 of 12 0.0209 / 3.09%, 0.0233 / 3.91%,
// 0.0201 / 5.25%; 7 of 28 0.0204 / 3.03%, 0.0215 / 3.42%, 0.0202 /
// 5.61%; 3 of 28 with ham cost 10 0.0211 / 3.04%, 0.0238 / 3.87%, 0.0216
// / 6.14%, ham cost 40 0.0201 / 3.07%, 0.0236 / 3.89%, 0.0207 / 6.29%.
// Between seeds, one recipe's means move by as much as these recipes
// differ (3 of 28, stripped: 0.0227 to 0.0255): more members average
// that noise away, smaller ones keep the training time (9 × 16 hidden
// units against 3 × 28: 1.7 times the work).
const (
	DefaultHamCost = 20
	DefaultMembers = 9
	// DefaultMaxHidden caps the default hidden units of a member.
	DefaultMaxHidden = 16
	// DefaultShrinkFolds is TrainOptions.ShrinkFolds' default.
	DefaultShrinkFolds = 4
)

// shrinkGrid are the factors Train may scale a network's log-odds by:
// 0 puts a network that does not rank better than its offset out of
// service, 1 keeps it whole.
var shrinkGrid = [...]float64{0, 0.25, 0.5, 0.75, 1}

// TrainOptions configure Train; zero fields take the defaults in brackets.
type TrainOptions struct {
	Hidden       int     // hidden units of each member [max(8, 1.5 × inputs), at most DefaultMaxHidden]
	Seed         uint64  // initial weights, split and minibatch order [0]
	LearningRate float64 // Adam step size [0.005]
	Batch        int     // minibatch size [32]
	MaxEpochs    int     // passes over the training part [300]
	Patience     int     // epochs without a better held-out loss before stopping [20]
	Holdout      float64 // fraction of each class held out for early stopping [0.2]
	L2           float64 // weight decay [1e-4]
	// HamCost multiplies the loss of every ham sample [20]: a false
	// positive costs as much as 20 false negatives, which moves the
	// network's log-odds down by about ln 20 where it is unsure, so that
	// the add-header threshold chosen for Bayes alone keeps false
	// positives as rare with the network. Negative: 1.
	HamCost float64
	// Members: train this many networks and average them [9] (Train): a
	// network trained on a few thousand samples varies with its seed
	// more than it gains over Bayes; the average varies less. Negative: 1.
	Members int
	// ShrinkFolds: with an offset input, Train cuts the samples into
	// this many folds [4], trains the same recipe on all but one and
	// predicts that one, and scales the final network's log-odds by the
	// factor of shrinkGrid under which offset + Weight × factor ×
	// log-odds ranks these held-out samples best (ties: the smaller
	// factor). A network that does not beat its offset on samples it did
	// not see gets 0 and adds nothing. Negative: no shrinkage (factor 1).
	ShrinkFolds int
	// Weight is the weight the scanner gives the network's log-odds
	// (scan.Neural.SpamWeight) [1]: the shrinkage is chosen for the
	// score that will rank.
	Weight float64
	// Context, when set, is checked before every epoch: once it is done
	// Train stops and returns its error (wrapped).
	Context context.Context
}

func (o TrainOptions) withDefaults(inputs int) TrainOptions {
	if o.Hidden <= 0 {
		o.Hidden = min(max(8, inputs*3/2), DefaultMaxHidden)
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 0.005
	}
	if o.Batch <= 0 {
		o.Batch = 32
	}
	if o.MaxEpochs <= 0 {
		o.MaxEpochs = 300
	}
	if o.Patience <= 0 {
		o.Patience = 20
	}
	if o.Holdout <= 0 || o.Holdout >= 1 {
		o.Holdout = 0.2
	}
	if o.HamCost == 0 {
		o.HamCost = DefaultHamCost
	} else if !(o.HamCost > 0) {
		o.HamCost = 1
	}
	if o.L2 < 0 {
		o.L2 = 0
	} else if o.L2 == 0 {
		o.L2 = 1e-4
	}
	return o
}

// Report says how training went.
type Report struct {
	Epochs      int     // epochs run
	BestEpoch   int     // epoch whose weights were kept
	TrainLoss   float64 // mean cross-entropy on the training part at BestEpoch
	HoldoutLoss float64 // on the held-out part
	// Shrink is the factor the network's log-odds were scaled by (1 when
	// not measured); OffsetAUC and ShrunkAUC are (1-AUC)% of the offset
	// alone and of the chosen score on the shrinkage folds' held-out
	// samples (0 when not measured).
	Shrink               float64
	OffsetAUC, ShrunkAUC float64
	// HeldOut are the shrinkage folds' log-odds of every sample (in the
	// order given to Train) by a network that did not see it, scaled by
	// Shrink; nil when not measured. With the offsets they are the
	// scores out of sample, for choosing thresholds.
	HeldOut []float64 `json:"-"`
}

// ErrTooFewSamples is returned when a class has fewer than 2 samples.
var ErrTooFewSamples = errors.New("nn: too few samples to train (each class needs 2)")

// params are the weights being trained, in float64.
type params struct {
	in, hid        int
	w1, b1, w2, b2 []float64 // b2 has one element
}

func newParams(in, hid int, rng *rand.Rand) *params {
	p := &params{in: in, hid: hid, w1: make([]float64, in*hid), b1: make([]float64, hid), w2: make([]float64, hid), b2: make([]float64, 1)}
	he := math.Sqrt(2 / float64(in)) // He initialisation for ReLU
	for i := range p.w1 {
		p.w1[i] = rng.NormFloat64() * he
	}
	for i := range p.b1 {
		p.b1[i] = 0.01 // keep ReLUs alive at the start
	}
	xa := math.Sqrt(1 / float64(hid))
	for i := range p.w2 {
		p.w2[i] = rng.NormFloat64() * xa
	}
	return p
}

func (p *params) slices() [][]float64 { return [][]float64{p.w1, p.b1, p.w2, p.b2} }

// forward returns the output s = tanh(z) for the normalised input x,
// keeping the hidden pre-activations in h.
func (p *params) forward(x []float64, h []float64, off float64) float64 {
	z := p.b2[0] + off/2 // tanh(z) = 2·sigmoid(2z) - 1: log-odds are 2z
	for j := 0; j < p.hid; j++ {
		a := p.b1[j]
		row := p.w1[j*p.in : (j+1)*p.in]
		for i, w := range row {
			a += w * x[i]
		}
		h[j] = a
		z += p.w2[j] * max(0, a)
	}
	return math.Tanh(z)
}

// loss is the cross-entropy of p = (1+s)/2 against the class.
func loss(s float64, spam bool) float64 {
	p := min(max((1+s)/2, 1e-7), 1-1e-7)
	if spam {
		return -math.Log(p)
	}
	return -math.Log(1 - p)
}

// backward adds weight × the gradient of loss(forward(x)) to g. With a tanh
// output and p = (1+s)/2, dLoss/dz = 2(p - t) = s - y for y = ±1.
func (p *params) backward(x, h []float64, s float64, spam bool, weight float64, g *params) {
	y := -1.0
	if spam {
		y = 1
	}
	dz := (s - y) * weight
	g.b2[0] += dz
	for j := 0; j < p.hid; j++ {
		if h[j] <= 0 {
			continue
		}
		g.w2[j] += dz * h[j]
		da := dz * p.w2[j]
		g.b1[j] += da
		row := g.w1[j*p.in : (j+1)*p.in]
		for i := range row {
			row[i] += da * x[i]
		}
	}
}

// Train fits a network to samples (vectors in the order of names) and
// returns it with a report. Classes are balanced by weighting each
// sample's loss by the inverse of its class's share; a held-out part of
// each class stops training when its loss has not improved for Patience
// epochs, and the best weights are kept. The same samples, options and
// seed give the same network.
//
// With Members > 1 it trains that many networks (seeds Seed, Seed+1, …)
// and returns their average as one network: the hidden layers side by
// side, the output weights divided by Members, each member's input
// normalisation folded into its first-layer weights. The average's
// log-odds are the mean of the members' log-odds; its report is the
// first member's, with Epochs summed over all.
func Train(names []string, samples []Sample, opts TrainOptions) (*Network, Report, error) {
	net, rep, err := trainMembers(names, samples, opts)
	rep.Shrink = 1
	if err != nil {
		return nil, rep, err
	}
	k, ok := indexOf(names, OffsetInput)
	folds := opts.ShrinkFolds
	if folds == 0 {
		folds = DefaultShrinkFolds
	}
	if !ok || folds < 2 {
		return net, rep, nil
	}
	weight := opts.Weight
	if !(weight > 0) {
		weight = 1
	}
	// Held-out log-odds of every sample, from a network of the same
	// recipe that did not see it.
	z := make([]float64, len(samples))
	var x []float32
	for f := range folds {
		var part []Sample
		for i, s := range samples {
			if i%folds != f {
				part = append(part, s)
			}
		}
		o := opts
		o.Seed = opts.Seed + uint64(1000*(f+1))
		n, _, err := trainMembers(names, part, o)
		if errors.Is(err, ErrTooFewSamples) {
			return net, rep, nil // too few to measure: the network whole
		}
		if err != nil {
			return nil, rep, err
		}
		for i := f; i < len(samples); i += folds {
			x = n.Fill(x, names, samples[i].X)
			z[i] = n.LogOdds(x)
		}
	}
	score := make([]float64, len(samples))
	spam := make([]bool, len(samples))
	best, bestAUC := 0.0, math.Inf(1)
	for _, c := range shrinkGrid {
		for i, s := range samples {
			score[i], spam[i] = float64(s.X[k])+weight*c*z[i], s.Spam
		}
		a := oneMinusAUCPercent(score, spam)
		if c == 0 {
			rep.OffsetAUC = a
		}
		if a < bestAUC {
			best, bestAUC = c, a
		}
	}
	rep.Shrink, rep.ShrunkAUC = best, bestAUC
	for i := range z {
		z[i] *= best
	}
	rep.HeldOut = z
	for j := range net.W2 {
		net.W2[j] *= float32(best)
	}
	net.B2 *= float32(best)
	return net, rep, nil
}

// oneMinusAUCPercent is 100 × the share of (spam, ham) pairs that score
// ranks wrongly, ties counting half.
func oneMinusAUCPercent(score []float64, spam []bool) float64 {
	idx := make([]int, len(score))
	nSpam, nHam := 0, 0
	for i := range idx {
		idx[i] = i
		if spam[i] {
			nSpam++
		} else {
			nHam++
		}
	}
	if nSpam == 0 || nHam == 0 {
		return 0
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var wrong float64
	hamAtOrBelow := 0
	for a := 0; a < len(idx); {
		b, gs, gh := a, 0, 0
		for ; b < len(idx) && score[idx[b]] == score[idx[a]]; b++ {
			if spam[idx[b]] {
				gs++
			} else {
				gh++
			}
		}
		hamAtOrBelow += gh
		// a spam of this group against every ham above it, and half of
		// the ham tied with it
		wrong += float64(gs) * (float64(nHam-hamAtOrBelow) + float64(gh)/2)
		a = b
	}
	return 100 * wrong / (float64(nSpam) * float64(nHam))
}

// trainMembers trains opts.Members networks and averages them.
func trainMembers(names []string, samples []Sample, opts TrainOptions) (*Network, Report, error) {
	if opts.Members == 0 {
		opts.Members = DefaultMembers
	}
	if opts.Members <= 1 {
		return trainOne(names, samples, opts)
	}
	var members []*Network
	var rep Report
	for k := range opts.Members {
		o := opts
		o.Seed = opts.Seed + uint64(k)
		n, r, err := trainOne(names, samples, o)
		if err != nil {
			return nil, r, err
		}
		if k == 0 {
			rep = r
		} else {
			rep.Epochs += r.Epochs
		}
		members = append(members, n)
	}
	n, err := average(members)
	return n, rep, err
}

// average merges networks over the same inputs into one whose output
// pre-activation is the mean of theirs.
func average(members []*Network) (*Network, error) {
	first := members[0]
	in := len(first.Inputs)
	hidden := 0
	for _, m := range members {
		hidden += m.Hidden
	}
	if hidden > maxHidden {
		return nil, fmt.Errorf("nn: train: %d hidden units in all members (at most %d)", hidden, maxHidden)
	}
	n := &Network{
		Inputs: first.Inputs, Digest: first.Digest, Hidden: hidden, HiddenAct: first.HiddenAct, OutAct: first.OutAct,
		Offset: make([]float32, in), Scale: make([]float32, in),
		SpamSamples: first.SpamSamples, HamSamples: first.HamSamples, Created: first.Created,
	}
	for i := range n.Scale {
		n.Scale[i] = 1
	}
	inv := 1 / float64(len(members))
	var b2 float64
	for _, m := range members {
		for j := 0; j < m.Hidden; j++ {
			row := m.W1[j*in : (j+1)*in]
			b := float64(m.B1[j])
			for i, w := range row {
				ws := float64(w) * float64(m.Scale[i])
				n.W1 = append(n.W1, float32(ws))
				b -= ws * float64(m.Offset[i])
			}
			n.B1 = append(n.B1, float32(b))
			n.W2 = append(n.W2, float32(float64(m.W2[j])*inv))
		}
		b2 += float64(m.B2) * inv
	}
	n.B2 = float32(b2)
	if err := n.check(); err != nil {
		return nil, fmt.Errorf("nn: train: %w: %v", ErrInvalid, err)
	}
	return n, nil
}

func trainOne(names []string, samples []Sample, opts TrainOptions) (*Network, Report, error) {
	in := len(names)
	if in == 0 || in > maxInputs {
		return nil, Report{}, fmt.Errorf("nn: train: %d inputs", in)
	}
	opts = opts.withDefaults(in)
	var spam, ham []int
	for i, s := range samples {
		if len(s.X) != in {
			return nil, Report{}, fmt.Errorf("nn: train: sample %d has %d values, want %d", i, len(s.X), in)
		}
		if s.Spam {
			spam = append(spam, i)
		} else {
			ham = append(ham, i)
		}
	}
	if k, ok := indexOf(names, OffsetInput); ok {
		with := make([]Sample, len(samples))
		for i, s := range samples {
			with[i] = s
			with[i].Offset = float64(s.X[k])
		}
		samples = with
	}
	if len(spam) < 2 || len(ham) < 2 {
		return nil, Report{}, fmt.Errorf("%w: %d spam, %d ham", ErrTooFewSamples, len(spam), len(ham))
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5111ce))
	var train, hold []int
	for _, cls := range [][]int{spam, ham} {
		rng.Shuffle(len(cls), func(i, j int) { cls[i], cls[j] = cls[j], cls[i] })
		k := max(1, int(float64(len(cls))*opts.Holdout))
		hold = append(hold, cls[:k]...)
		train = append(train, cls[k:]...)
	}
	// Normalisation from the training part: mean and 1/std per input.
	offset, scale := make([]float32, in), make([]float32, in)
	for i := 0; i < in; i++ {
		var sum, sq float64
		for _, k := range train {
			v := float64(samples[k].X[i])
			sum += v
			sq += v * v
		}
		mean := sum / float64(len(train))
		std := math.Sqrt(max(sq/float64(len(train))-mean*mean, 0))
		offset[i], scale[i] = float32(mean), float32(1/max(std, 0.05))
	}
	norm := func(k int) []float64 {
		x := make([]float64, in)
		for i, v := range samples[k].X {
			x[i] = (float64(v) - float64(offset[i])) * float64(scale[i])
		}
		return x
	}
	xs := make(map[int][]float64, len(samples))
	for _, k := range append(append([]int(nil), train...), hold...) {
		xs[k] = norm(k)
	}
	nSpam, nHam := 0, 0
	for _, k := range train {
		if samples[k].Spam {
			nSpam++
		} else {
			nHam++
		}
	}
	classWeight := func(spam bool) float64 {
		if spam {
			return float64(len(train)) / (2 * float64(nSpam))
		}
		return opts.HamCost * float64(len(train)) / (2 * float64(nHam))
	}

	p := newParams(in, opts.Hidden, rng)
	g := &params{in: in, hid: opts.Hidden, w1: make([]float64, len(p.w1)), b1: make([]float64, len(p.b1)), w2: make([]float64, len(p.w2)), b2: make([]float64, 1)}
	m, v := g.zeroLike(), g.zeroLike()
	best := p.clone()
	h := make([]float64, opts.Hidden)
	meanLoss := func(set []int, q *params) float64 {
		var l, wsum float64
		for _, k := range set {
			w := classWeight(samples[k].Spam)
			l += w * loss(q.forward(xs[k], h, samples[k].Offset), samples[k].Spam)
			wsum += w
		}
		return l / wsum
	}
	const beta1, beta2, eps = 0.9, 0.999, 1e-8
	rep := Report{HoldoutLoss: math.Inf(1)}
	step := 0
	order := append([]int(nil), train...)
	for epoch := 1; epoch <= opts.MaxEpochs; epoch++ {
		if opts.Context != nil {
			if err := opts.Context.Err(); err != nil {
				return nil, rep, fmt.Errorf("nn: train: %w", err)
			}
		}
		rep.Epochs = epoch
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for b := 0; b < len(order); b += opts.Batch {
			batch := order[b:min(b+opts.Batch, len(order))]
			g.zero()
			for _, k := range batch {
				s := p.forward(xs[k], h, samples[k].Offset)
				p.backward(xs[k], h, s, samples[k].Spam, classWeight(samples[k].Spam)/float64(len(batch)), g)
			}
			step++
			c1, c2 := 1-math.Pow(beta1, float64(step)), 1-math.Pow(beta2, float64(step))
			ps, gs, ms, vs := p.slices(), g.slices(), m.slices(), v.slices()
			for t := range ps {
				decay := opts.L2
				if t == 1 || t == 3 {
					decay = 0 // no decay on biases
				}
				for i := range ps[t] {
					gr := gs[t][i] + decay*ps[t][i]
					ms[t][i] = beta1*ms[t][i] + (1-beta1)*gr
					vs[t][i] = beta2*vs[t][i] + (1-beta2)*gr*gr
					ps[t][i] -= opts.LearningRate * (ms[t][i] / c1) / (math.Sqrt(vs[t][i]/c2) + eps)
				}
			}
		}
		if hl := meanLoss(hold, p); hl < rep.HoldoutLoss-1e-6 {
			rep.HoldoutLoss, rep.BestEpoch = hl, epoch
			best = p.clone()
		} else if epoch-rep.BestEpoch >= opts.Patience {
			break
		}
	}
	rep.TrainLoss = meanLoss(train, best)
	n := &Network{
		Inputs: append([]string(nil), names...), Digest: InputDigest(names),
		Hidden: opts.Hidden, HiddenAct: ReLU, OutAct: Tanh,
		Offset: offset, Scale: scale,
		W1: f32(best.w1), B1: f32(best.b1), W2: f32(best.w2), B2: float32(best.b2[0]),
		SpamSamples: uint64(len(spam)), HamSamples: uint64(len(ham)),
		Created: time.Now(),
	}
	if err := n.check(); err != nil {
		return nil, rep, fmt.Errorf("nn: train: %w: %v", ErrInvalid, err)
	}
	return n, rep, nil
}

func (p *params) zeroLike() *params {
	return &params{in: p.in, hid: p.hid, w1: make([]float64, len(p.w1)), b1: make([]float64, len(p.b1)), w2: make([]float64, len(p.w2)), b2: make([]float64, 1)}
}

func (p *params) zero() {
	for _, s := range p.slices() {
		clear(s)
	}
}

func (p *params) clone() *params {
	q := p.zeroLike()
	for i, s := range p.slices() {
		copy(q.slices()[i], s)
	}
	return q
}

func f32(s []float64) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v)
	}
	return out
}

func indexOf(names []string, name string) (int, bool) {
	for i, n := range names {
		if n == name {
			return i, true
		}
	}
	return 0, false
}
