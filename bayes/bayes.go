package bayes

import (
	"fmt"
	"math"
	"slices"
)

// Symbol names emitted by [Symbol].
const (
	SymbolSpam = "BAYES_SPAM"
	SymbolHam  = "BAYES_HAM"
)

// TokenStat is what the statistics store knows about one token of the
// message being classified.
type TokenStat struct {
	Spam, Ham uint32 // learned messages of each class that contained the token
	Dist      uint8  // 0 = unigram or metatoken, 1..7 = OSB pair distance (larger values count as 7)
	Meta      bool   // a metatoken (structure, headers, URL domains), not text
}

// Totals are the numbers of messages learned per class.
type Totals struct {
	Spam, Ham uint64
}

// Config holds the classifier's tunables. Start from [DefaultConfig]; a zero
// Config gives every token weight 0 and so never classifies anything.
type Config struct {
	// MinTokens: silent when the message has fewer text (non-meta) tokens
	// than this. Default 11, the seeds' min_tokens.
	MinTokens int
	// MinLearns: silent while either class has fewer learned messages than
	// this. Default 10 (rspamd's 200 keeps small sites silent for weeks);
	// provisional until measured on the corpus.
	MinLearns int
	// MinTokenHits: tokens with Spam+Ham below this are ignored. Default 1.
	MinTokenHits int
	// MinStrength: tokens whose smoothed probability f has |f-0.5| below
	// this are ignored (f = 0.5 exactly included). Default 0.375.
	MinStrength float64
	// RobinsonS and RobinsonX: smoothing strength s and prior x in
	// f = (s·x + n·p)/(s + n). Defaults 0.0178 and 0.5 (bogofilter's).
	RobinsonS, RobinsonX float64
	// DistWeights[d] is the evidence weight w of a token with Dist d: the
	// token counts as if it occurred w times (w·ln f in the sums, w in the
	// degrees of freedom). Weights <= 0 drop the token. Default
	// {1, 1, 1/2, 1/3, 1/4, 1/5, 1/6, 1/7}.
	DistWeights [8]float64
	// MetaMaxShare caps the total weight of the metatokens used at this
	// multiple of the total weight of the text tokens used; above the cap
	// every metatoken's weight is scaled down uniformly. <= 0 ignores
	// metatokens. Default 1: metadata can at most match the text.
	MetaMaxShare float64
	// UnsureMargin: when the chi-square probability is within this of 0.5
	// — both tests significant (strong evidence both ways, common in long
	// messages) or neither — the verdict comes from Robinson's
	// geometric-mean indicator instead, which keeps the direction of the
	// evidence and stays near 0.5 in proportion to the doubt. 0 disables.
	// Default 0.4.
	UnsureMargin float64
	// MaxTokens: combine only the N most influential usable tokens
	// (influence = w·|ln(f/(1-f))|); 0 = all. Default 0.
	MaxTokens int
	// TopTokens: how many of the most influential tokens Result.Top lists.
	// Default 10; 0 disables Top (and its allocation).
	TopTokens int

	// SpamSymbolScore and HamSymbolScore scale BAYES_SPAM and BAYES_HAM:
	// the score is the scale times ln(1 + |log-odds|) ([Symbol]).
	// Defaults 5 and -5.
	SpamSymbolScore, HamSymbolScore float64
}

// DefaultConfig returns the default configuration; see [Config] for each
// value and the package documentation for the reasoning.
func DefaultConfig() Config {
	return Config{
		MinTokens:       11,
		MinLearns:       10,
		MinTokenHits:    1,
		MinStrength:     0.375,
		RobinsonS:       0.0178,
		RobinsonX:       0.5,
		DistWeights:     [8]float64{1, 1, 1.0 / 2, 1.0 / 3, 1.0 / 4, 1.0 / 5, 1.0 / 6, 1.0 / 7},
		MetaMaxShare:    1,
		UnsureMargin:    0.4,
		MaxTokens:       0,
		TopTokens:       10,
		SpamSymbolScore: 5,
		HamSymbolScore:  -5,
	}
}

// Contribution describes one token that took part in the verdict.
type Contribution struct {
	Index    int     // into the input slice
	Prob     float64 // smoothed (and clamped) per-token spam probability f
	Weight   float64 // effective evidence weight w (distance weight × metatoken scale)
	Evidence float64 // w·ln(f/(1-f)): > 0 spammy, < 0 hammy; |Evidence| orders Top
}

// Result is the classifier's verdict.
type Result struct {
	Prob   float64 // P(spam) in [0,1]; 0.5 when silent
	Silent bool    // no verdict: gates not met or no usable token
	Reason string  // why silent, e.g. "3 tokens < min_tokens 11"
	Used   int     // tokens combined
	// Evidence is the total weighted log-odds Σ w·ln(f/(1-f)) of the
	// tokens combined: unbounded where Prob saturates at 0 or 1, so it
	// orders confident verdicts among themselves (ROC figures).
	Evidence float64
	// LogOdds is ln(P/(1-P)) computed in log space: exact where Prob
	// rounds to 0 or 1, so it keeps ordering verdicts there; 0 when
	// silent. It is what [Score] maps to the score.
	LogOdds float64
	Top     []Contribution
}

// Scratch holds reusable memory for [ClassifyWith]. It is only needed when
// Config.MaxTokens > 0 (the candidates must be ranked before combining).
// A Scratch must not be used by two goroutines at once.
type Scratch struct {
	cand []candidate
}

type candidate struct {
	idx    int
	f      float64
	lf, lg float64 // ln f, ln(1-f)
	w      float64
	meta   bool
}

func (c *candidate) influence() float64 { return c.w * math.Abs(c.lf-c.lg) }

// Classify computes the spam probability of a message from its tokens'
// statistics. It is ClassifyWith without a reusable scratch.
func Classify(cfg Config, totals Totals, toks []TokenStat) Result {
	return ClassifyWith(cfg, totals, toks, nil)
}

// ClassifyWith is [Classify] with caller-provided scratch memory (may be nil).
// With MaxTokens = 0 it allocates only Result.Top (one allocation); with
// MaxTokens > 0 and a reused Scratch it allocates the same.
func ClassifyWith(cfg Config, totals Totals, toks []TokenStat, sc *Scratch) Result {
	if totals.Spam < uint64(max(cfg.MinLearns, 0)) {
		return silent(fmt.Sprintf("spam learns %d < min_learns %d", totals.Spam, cfg.MinLearns))
	}
	if totals.Ham < uint64(max(cfg.MinLearns, 0)) {
		return silent(fmt.Sprintf("ham learns %d < min_learns %d", totals.Ham, cfg.MinLearns))
	}

	text := 0
	for i := range toks {
		if !toks[i].Meta {
			text++
		}
	}
	if text < cfg.MinTokens {
		return silent(fmt.Sprintf("%d tokens < min_tokens %d", text, cfg.MinTokens))
	}

	ev := newEvaluator(cfg, totals)
	acc := accumulator{topN: max(cfg.TopTokens, 0)}
	useMeta := cfg.MetaMaxShare > 0

	if cfg.MaxTokens > 0 && len(toks) > cfg.MaxTokens {
		if sc == nil {
			sc = new(Scratch)
		}
		cand := sc.cand[:0]
		for i := range toks {
			t := &toks[i]
			if t.Meta && !useMeta {
				continue
			}
			if c, ok := ev.eval(t); ok {
				c.idx = i
				cand = append(cand, c)
			}
		}
		if len(cand) > cfg.MaxTokens {
			slices.SortFunc(cand, func(a, b candidate) int {
				ia, ib := a.influence(), b.influence()
				switch {
				case ia > ib:
					return -1
				case ia < ib:
					return 1
				}
				return a.idx - b.idx
			})
			cand = cand[:cfg.MaxTokens]
		}
		for i := range cand {
			acc.add(&cand[i])
		}
		sc.cand = cand[:0]
	} else {
		for i := range toks {
			t := &toks[i]
			if t.Meta && !useMeta {
				continue
			}
			if c, ok := ev.eval(t); ok {
				c.idx = i
				acc.add(&c)
			}
		}
	}
	return acc.finish(cfg, len(toks))
}

func silent(reason string) Result {
	return Result{Prob: 0.5, Silent: true, Reason: reason}
}

// evaluator turns a TokenStat into its smoothed probability and weight.
type evaluator struct {
	invS, invH float64
	s, x       float64
	sx, s1x    float64 // s·x, s·(1-x)
	minHits    uint64
	minStr     float64
	weights    [8]float64
}

func newEvaluator(cfg Config, totals Totals) evaluator {
	e := evaluator{
		invS:    1 / float64(max(totals.Spam, 1)),
		invH:    1 / float64(max(totals.Ham, 1)),
		s:       cfg.RobinsonS,
		x:       cfg.RobinsonX,
		minHits: uint64(max(cfg.MinTokenHits, 1)), // a token never seen carries no evidence
		minStr:  cfg.MinStrength,
		weights: cfg.DistWeights,
	}
	if !(e.s >= 0) || math.IsInf(e.s, 1) {
		e.s = 0
	}
	if !(e.x >= 0 && e.x <= 1) {
		e.x = 0.5
	}
	e.sx, e.s1x = e.s*e.x, e.s*(1-e.x)
	for i, w := range e.weights {
		if !(w > 0) || math.IsInf(w, 1) {
			e.weights[i] = 0
		}
	}
	return e
}

func (e *evaluator) eval(t *TokenStat) (candidate, bool) {
	n := uint64(t.Spam) + uint64(t.Ham)
	if n < e.minHits {
		return candidate{}, false
	}
	w := e.weights[min(t.Dist, 7)]
	if w == 0 {
		return candidate{}, false
	}
	sf := float64(t.Spam) * e.invS
	hf := float64(t.Ham) * e.invH
	sum := sf + hf
	nf := float64(n)
	// f = (s·x + n·sf/sum)/(s+n), and g = 1-f by the mirror formula so that
	// neither loses precision near 0; one division for both.
	inv := 1 / ((e.s + nf) * sum)
	f := (e.sx*sum + nf*sf) * inv
	g := (e.s1x*sum + nf*hf) * inv
	if math.Abs(f-0.5) < e.minStr {
		return candidate{}, false
	}
	if f < probClamp {
		f, g = probClamp, 1-probClamp
	} else if g < probClamp {
		f, g = 1-probClamp, probClamp
	}
	return candidate{f: f, lf: math.Log(f), lg: math.Log(g), w: w, meta: t.Meta}, true
}

// accumulator sums the evidence of text and metatokens separately (the
// metatokens' share is capped at the end) and keeps the most influential
// tokens of each kind in two bounded min-heaps.
type accumulator struct {
	topN               int
	sumLF, sumLG, sumW [2]float64 // [0] text, [1] meta
	used               [2]int
	top                []Contribution // len 2*topN once allocated: text heap, meta heap
	nTop               [2]int
	floor              [2]float64 // |Evidence| of each heap's root
}

func (a *accumulator) add(c *candidate) {
	k := 0
	if c.meta {
		k = 1
	}
	a.sumLF[k] += c.w * c.lf
	a.sumLG[k] += c.w * c.lg
	a.sumW[k] += c.w
	a.used[k]++
	if a.topN == 0 {
		return
	}
	ev := c.w * (c.lf - c.lg)
	n := a.nTop[k]
	if n == a.topN && math.Abs(ev) < a.floor[k] {
		return // weaker than the weakest kept: the common case
	}
	if a.top == nil {
		a.top = make([]Contribution, 2*a.topN)
	}
	h := a.top[k*a.topN : k*a.topN+a.topN]
	ct := Contribution{Index: c.idx, Prob: c.f, Weight: c.w, Evidence: ev}
	if n < a.topN {
		h[n] = ct
		siftUp(h, n)
		a.nTop[k]++
	} else if weaker(&h[0], &ct) {
		h[0] = ct
		siftDown(h[:n], 0)
	} else {
		return
	}
	a.floor[k] = math.Abs(h[0].Evidence)
}

// weaker reports whether a ranks below b: smaller |Evidence|, ties broken
// by the larger index ranking lower.
func weaker(a, b *Contribution) bool {
	ea, eb := math.Abs(a.Evidence), math.Abs(b.Evidence)
	if ea != eb {
		return ea < eb
	}
	return a.Index > b.Index
}

func siftUp(h []Contribution, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !weaker(&h[i], &h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown(h []Contribution, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && weaker(&h[r], &h[l]) {
			m = r
		}
		if !weaker(&h[m], &h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (a *accumulator) finish(cfg Config, ntoks int) Result {
	// Metatoken cap: scale = min(1, share·W_text / W_meta).
	scale := 1.0
	if a.sumW[1] > 0 {
		if lim := cfg.MetaMaxShare * a.sumW[0]; a.sumW[1] > lim {
			scale = lim / a.sumW[1]
		}
	}
	used := a.used[0]
	if scale > 0 {
		used += a.used[1]
	}
	sumLF := a.sumLF[0] + scale*a.sumLF[1]
	sumLG := a.sumLG[0] + scale*a.sumLG[1]
	w := a.sumW[0] + scale*a.sumW[1]
	if used == 0 || !(w > 0) {
		return silent(fmt.Sprintf("no usable token among %d (min_token_hits %d, min_strength %g)",
			ntoks, cfg.MinTokenHits, cfg.MinStrength))
	}

	// Fisher/Robinson: H is high when the f are high (spammy), S is high
	// when the 1-f are high (hammy).
	// P = (1 + H - S)/2, so P = (H + (1-S))/2 and 1-P = ((1-H) + S)/2:
	// from the logarithms of the four tails the log-odds of P is exact
	// even where P itself rounds to 0 or 1.
	lnPh, lnQh := gammaLogPQ(w, -sumLF) // chi2Q(x, ν) = Q(ν/2, x/2)
	lnPs, lnQs := gammaLogPQ(w, -sumLG)
	lo := logAddExp(lnQh, lnPs) - logAddExp(lnPh, lnQs)
	p := (1 + math.Exp(lnQh) - math.Exp(lnQs)) / 2
	if math.IsNaN(p) || math.IsNaN(lo) {
		return silent("numerical failure") // unreachable with finite inputs
	}
	if math.Abs(p-0.5) < cfg.UnsureMargin {
		p, lo = geometricIndicator(sumLF, sumLG, w)
	}
	r := Result{Prob: clamp01(p), LogOdds: lo, Used: used, Evidence: sumLF - sumLG}

	if a.top != nil {
		nt, nm := a.nTop[0], a.nTop[1]
		if scale > 0 {
			meta := a.top[a.topN : a.topN+nm]
			for i := range meta {
				meta[i].Weight *= scale
				meta[i].Evidence *= scale
			}
			copy(a.top[nt:], meta)
		} else {
			nm = 0
		}
		top := a.top[:nt+nm]
		slices.SortFunc(top, func(x, y Contribution) int {
			switch {
			case weaker(&y, &x):
				return -1
			case weaker(&x, &y):
				return 1
			}
			return 0
		})
		r.Top = top[:min(len(top), a.topN):min(len(top), a.topN)]
	}
	return r
}

// geometricIndicator is Robinson's geometric-mean combination: with
// S = 1 - (Π(1-f))^(1/n) and H = 1 - (Π f)^(1/n), I = (1 + (S-H)/(S+H))/2.
// It measures the average strength of the evidence, so it neither
// saturates nor cancels out when many tokens pull both ways.
// It returns I and its log-odds ln(S'/H').
func geometricIndicator(sumLF, sumLG, w float64) (p, logOdds float64) {
	s := -math.Expm1(sumLG / w)
	h := -math.Expm1(sumLF / w)
	if !(s > 0 && h > 0) {
		if !(s+h > 0) {
			return 0.5, 0
		}
		if s > 0 {
			return 1, math.Inf(1)
		}
		return 0, math.Inf(-1)
	}
	return (1 + (s-h)/(s+h)) / 2, math.Log(s) - math.Log(h)
}

// Symbol maps a result to the BAYES_SPAM or BAYES_HAM symbol and its score.
// ok is false only when the result is silent. With z = Result.LogOdds,
//
//	score = SpamSymbolScore · ln(1 + z)      for z > 0 (BAYES_SPAM)
//	score = HamSymbolScore  · ln(1 + |z|)    for z <= 0 (BAYES_HAM)
//
// strictly increasing in z and unbounded: no band of verdicts collapses
// onto one score, and the confident ones keep their order. The logarithm
// only compresses the chi-square tails (log-odds in the hundreds) into a
// readable range.
func Symbol(cfg Config, r Result) (name string, score float64, ok bool) {
	if r.Silent || math.IsNaN(r.LogOdds) {
		return "", 0, false
	}
	z := r.LogOdds
	if z > 0 {
		return SymbolSpam, cfg.SpamSymbolScore * math.Log1p(min(z, math.MaxFloat64)), true
	}
	return SymbolHam, cfg.HamSymbolScore * math.Log1p(min(-z, math.MaxFloat64)), true
}
