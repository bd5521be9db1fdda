package bayes

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// open returns the default config without the message-level gates and
// without the unsure fall-back, for hand-computed chi-square cases with a
// few tokens.
func open() Config {
	c := classic()
	c.MinTokens = 0
	c.MinLearns = 0
	c.UnsureMargin = 0
	return c
}

var eq100 = Totals{Spam: 100, Ham: 100}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// fisher is an independent implementation for n = 1 and 2 equally weighted
// tokens, from the closed form Q(m,x) = e^-x Σ_{k<m} x^k/k!:
// n=1: H = f, S = 1-f; n=2: H = F(1 - ln F) with F = f1 f2, likewise S.
func fisher(fs ...float64) float64 {
	switch len(fs) {
	case 1:
		return (1 + fs[0] - (1 - fs[0])) / 2
	case 2:
		F := fs[0] * fs[1]
		G := (1 - fs[0]) * (1 - fs[1])
		return (1 + F*(1-math.Log(F)) - G*(1-math.Log(G))) / 2
	}
	panic("fisher: n")
}

func TestClassifyHandComputed(t *testing.T) {
	sm := func(s, x, n, p float64) float64 { return (s*x + n*p) / (s + n) }
	tests := []struct {
		name   string
		cfg    func(*Config)
		totals Totals
		toks   []TokenStat
		want   float64
	}{
		{"one spam token", nil, eq100, []TokenStat{{Spam: 10}}, sm(1, 0.5, 10, 1)},
		{"one ham token", nil, eq100, []TokenStat{{Ham: 3}}, sm(1, 0.5, 3, 0)},
		{"two tokens", nil, eq100, []TokenStat{{Spam: 10}, {Spam: 2, Ham: 6}},
			fisher(sm(1, 0.5, 10, 1), sm(1, 0.5, 8, 0.25))},
		{"two opposite tokens", nil, eq100, []TokenStat{{Spam: 9, Ham: 1}, {Spam: 1, Ham: 9}},
			0.5},
		// Frequencies are normalised by the class totals: 10/100 vs 10/1000.
		{"normalised by totals", nil, Totals{Spam: 100, Ham: 1000}, []TokenStat{{Spam: 10, Ham: 10}},
			sm(1, 0.5, 20, 10.0/11)},
		{"no smoothing", func(c *Config) { c.RobinsonS = 0 }, eq100, []TokenStat{{Spam: 3, Ham: 1}},
			0.75},
		{"smoothing s=3 x=0.2", func(c *Config) { c.RobinsonS, c.RobinsonX = 3, 0.2 }, eq100,
			[]TokenStat{{Spam: 4, Ham: 1}}, sm(3, 0.2, 5, 0.8)},
		{"zero totals count as 1", nil, Totals{}, []TokenStat{{Spam: 4}}, sm(1, 0.5, 4, 1)},
		{"min hits drops n=1", nil, eq100, []TokenStat{{Spam: 10}, {Ham: 1}}, sm(1, 0.5, 10, 1)},
		// f = 0.5 (5/5) and f = 11.5/22 ≈ 0.52 (11/10) are too weak.
		{"min strength drops weak", nil, eq100, []TokenStat{{Spam: 10}, {Spam: 5, Ham: 5}, {Spam: 11, Ham: 10}},
			sm(1, 0.5, 10, 1)},
		{"min strength 0 keeps f=0.5", func(c *Config) { c.MinStrength = 0 }, eq100,
			[]TokenStat{{Spam: 10}, {Spam: 5, Ham: 5}}, fisher(sm(1, 0.5, 10, 1), 0.5)},
		{"clamped", func(c *Config) { c.RobinsonS = 0 }, eq100, []TokenStat{{Spam: 7}}, 1 - probClamp},
		{"distance 0 and 1 weigh 1", nil, eq100, []TokenStat{{Spam: 10, Dist: 0}, {Spam: 2, Ham: 6, Dist: 1}},
			fisher(sm(1, 0.5, 10, 1), sm(1, 0.5, 8, 0.25))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := open()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			r := Classify(cfg, tc.totals, tc.toks)
			if r.Silent || !near(r.Prob, tc.want, 1e-12) {
				t.Fatalf("got %+v, want P=%.15g", r, tc.want)
			}
		})
	}
}

func repeat(t TokenStat, n int) []TokenStat {
	s := make([]TokenStat, n)
	for i := range s {
		s[i] = t
	}
	return s
}

func TestOrientation(t *testing.T) {
	cfg := DefaultConfig()
	tot := Totals{Spam: 500, Ham: 500}
	spam := Classify(cfg, tot, repeat(TokenStat{Spam: 30, Ham: 3}, 20))
	ham := Classify(cfg, tot, repeat(TokenStat{Spam: 3, Ham: 30}, 20))
	mixed := Classify(cfg, tot, append(repeat(TokenStat{Spam: 30, Ham: 3}, 20), repeat(TokenStat{Spam: 3, Ham: 30}, 20)...))
	if spam.Prob < 0.99 {
		t.Errorf("spammy tokens: P = %g, want > 0.99", spam.Prob)
	}
	if ham.Prob > 0.01 {
		t.Errorf("hammy tokens: P = %g, want < 0.01", ham.Prob)
	}
	if !near(spam.Prob+ham.Prob, 1, 1e-12) {
		t.Errorf("not symmetric: %g + %g != 1", spam.Prob, ham.Prob)
	}
	if !near(mixed.Prob, 0.5, 1e-12) {
		t.Errorf("balanced evidence: P = %g, want 0.5", mixed.Prob)
	}
	// More of the same evidence makes the verdict more certain.
	more := Classify(cfg, tot, repeat(TokenStat{Spam: 30, Ham: 3}, 40))
	if !(more.Prob >= spam.Prob) {
		t.Errorf("40 spammy tokens P=%g < 20 tokens P=%g", more.Prob, spam.Prob)
	}
}

func TestSilence(t *testing.T) {
	cfg := classic()
	tok := TokenStat{Spam: 30, Ham: 1}
	tests := []struct {
		name   string
		totals Totals
		toks   []TokenStat
		reason string
	}{
		{"spam learns", Totals{Spam: 4, Ham: 100}, repeat(tok, 20), "spam learns 4 < min_learns 10"},
		{"ham learns", Totals{Spam: 100, Ham: 9}, repeat(tok, 20), "ham learns 9 < min_learns 10"},
		{"learns before tokens", Totals{Spam: 0, Ham: 0}, nil, "spam learns 0 < min_learns 10"},
		{"few tokens", Totals{Spam: 10, Ham: 10}, repeat(tok, 3), "3 tokens < min_tokens 11"},
		{"metatokens do not count", Totals{Spam: 10, Ham: 10},
			append(repeat(tok, 10), repeat(TokenStat{Spam: 30, Meta: true}, 5)...), "10 tokens < min_tokens 11"},
		{"no usable token", Totals{Spam: 10, Ham: 10}, repeat(TokenStat{Spam: 1}, 12),
			"no usable token among 12 (min_token_hits 2, min_strength 0.05)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Classify(cfg, tc.totals, tc.toks)
			if !r.Silent || r.Reason != tc.reason || r.Prob != 0.5 || r.Used != 0 || r.Top != nil {
				t.Fatalf("got %+v, want silent %q", r, tc.reason)
			}
			if _, _, ok := Symbol(cfg, r); ok {
				t.Fatalf("silent result has a symbol")
			}
		})
	}
	// Exactly at the gates: not silent.
	r := Classify(cfg, Totals{Spam: 10, Ham: 10}, repeat(tok, 11))
	if r.Silent || r.Used != 11 {
		t.Fatalf("at the gates: %+v", r)
	}
}

func TestWeights(t *testing.T) {
	a := TokenStat{Spam: 10, Ham: 1}
	b := TokenStat{Spam: 2, Ham: 7}
	withDist := func(t TokenStat, d uint8) TokenStat { t.Dist = d; return t }

	cfg := open()
	cfg.DistWeights = [8]float64{1, 2, 0.5, 0, 1, 1, 1, 3}
	base := open()
	tests := []struct {
		name      string
		got, want []TokenStat
		wantCfg   Config
	}{
		// Weight 2 is the same as the token occurring twice.
		{"w=2 repeats", []TokenStat{withDist(a, 1), b}, []TokenStat{a, a, b}, base},
		// Two tokens of weight 1/2 make one of weight 1.
		{"w=1/2 halves", []TokenStat{withDist(a, 2), withDist(a, 2), b}, []TokenStat{a, b}, base},
		// Weight 0 drops the token.
		{"w=0 drops", []TokenStat{withDist(a, 3), b}, []TokenStat{b}, base},
		// Distances above 7 use the weight of 7.
		{"dist>7", []TokenStat{withDist(a, 200), b}, []TokenStat{a, a, a, b}, base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(cfg, eq100, tc.got)
			want := Classify(tc.wantCfg, eq100, tc.want)
			if got.Silent || !near(got.Prob, want.Prob, 1e-12) {
				t.Fatalf("P = %.15g, want %.15g", got.Prob, want.Prob)
			}
		})
	}

	// A fractional weight lies between its neighbours.
	p1 := Classify(base, eq100, []TokenStat{a, b}).Prob
	p2 := Classify(base, eq100, []TokenStat{a, a, b}).Prob
	cfg.DistWeights[1] = 1.5
	p15 := Classify(cfg, eq100, []TokenStat{withDist(a, 1), b}).Prob
	if !(p1 < p15 && p15 < p2) {
		t.Fatalf("w=1.5 gives %g, not between w=1 %g and w=2 %g", p15, p1, p2)
	}

	// Defaults: nearer pairs weigh more.
	d := DefaultConfig().DistWeights
	for i := 2; i < 8; i++ {
		if !(d[i] < d[i-1]) || d[i] <= 0 {
			t.Fatalf("default weights %v not decreasing", d)
		}
	}
}

func TestMetaCap(t *testing.T) {
	text := TokenStat{Spam: 2, Ham: 10}
	meta := TokenStat{Spam: 10, Ham: 1, Meta: true}
	cfg := open()

	// Under the cap metatokens count like text tokens.
	got := Classify(cfg, eq100, []TokenStat{text, text, meta})
	want := Classify(cfg, eq100, []TokenStat{text, text, {Spam: 10, Ham: 1}})
	if !near(got.Prob, want.Prob, 1e-12) || got.Used != 3 {
		t.Fatalf("under cap: %+v, want P=%g", got, want.Prob)
	}

	// Three metatokens against one text token: scaled to weight 1/3 each,
	// i.e. the same as one text token and one metatoken.
	got = Classify(cfg, eq100, []TokenStat{text, meta, meta, meta})
	want = Classify(cfg, eq100, []TokenStat{text, {Spam: 10, Ham: 1}})
	if !near(got.Prob, want.Prob, 1e-12) || got.Used != 4 {
		t.Fatalf("capped: %+v, want P=%g", got, want.Prob)
	}
	for _, c := range got.Top {
		w := 1.0
		if c.Index > 0 {
			w = 1.0 / 3
		}
		if !near(c.Weight, w, 1e-15) {
			t.Errorf("top %+v: weight want %g", c, w)
		}
	}

	// Share 0.5.
	cfg.MetaMaxShare = 0.5
	got = Classify(cfg, eq100, []TokenStat{text, text, meta, meta, meta, meta})
	want = Classify(open(), eq100, []TokenStat{text, text, {Spam: 10, Ham: 1}})
	if !near(got.Prob, want.Prob, 1e-12) {
		t.Fatalf("share 0.5: P=%g, want %g", got.Prob, want.Prob)
	}

	// Share 0 ignores metatokens.
	cfg.MetaMaxShare = 0
	got = Classify(cfg, eq100, []TokenStat{text, meta, meta})
	want = Classify(cfg, eq100, []TokenStat{text})
	if !near(got.Prob, want.Prob, 1e-12) || got.Used != 1 || len(got.Top) != 1 {
		t.Fatalf("share 0: %+v, want P=%g", got, want.Prob)
	}

	// Metatokens alone (text tokens all unusable) give no verdict.
	got = Classify(open(), eq100, []TokenStat{{Spam: 1}, meta, meta})
	if !got.Silent {
		t.Fatalf("metatokens alone: %+v", got)
	}
}

func TestHugeInputs(t *testing.T) {
	cfg := classic()
	cfg.UnsureMargin = 0 // the chi-square limits; the fall-back has its own test
	const n = 100_000
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]TokenStat{
		"all max spam":  repeat(TokenStat{Spam: math.MaxUint32}, n),
		"all max ham":   repeat(TokenStat{Ham: math.MaxUint32}, n),
		"mixed max":     append(repeat(TokenStat{Spam: math.MaxUint32}, n/2), repeat(TokenStat{Ham: math.MaxUint32}, n/2)...),
		"mildly spammy": repeat(TokenStat{Spam: 70, Ham: 30}, n),
	}
	random := make([]TokenStat, n)
	for i := range random {
		random[i] = TokenStat{Spam: rng.Uint32(), Ham: rng.Uint32N(100), Dist: uint8(rng.IntN(9)), Meta: rng.IntN(10) == 0}
	}
	cases["random"] = random
	for _, totals := range []Totals{{Spam: 10, Ham: 10}, {Spam: math.MaxUint64, Ham: 10}, {Spam: 1 << 40, Ham: 1 << 40}} {
		for name, toks := range cases {
			r := Classify(cfg, totals, toks)
			if r.Silent || math.IsNaN(r.Prob) || r.Prob < 0 || r.Prob > 1 {
				t.Fatalf("%s %v: %+v", name, totals, r)
			}
			for _, c := range r.Top {
				if math.IsNaN(c.Evidence) || math.IsInf(c.Evidence, 0) {
					t.Fatalf("%s: bad contribution %+v", name, c)
				}
			}
		}
	}
	tot := Totals{Spam: 10, Ham: 10}
	if p := Classify(cfg, tot, cases["all max spam"]).Prob; p != 1 {
		t.Errorf("all max spam: P = %g", p)
	}
	if p := Classify(cfg, tot, cases["all max ham"]).Prob; p != 0 {
		t.Errorf("all max ham: P = %g", p)
	}
	if p := Classify(cfg, tot, cases["mixed max"]).Prob; !near(p, 0.5, 1e-12) {
		t.Errorf("mixed max: P = %g", p)
	}
	// 100k tokens of f≈0.7: Fisher's method is certain.
	if p := Classify(cfg, tot, cases["mildly spammy"]).Prob; p < 0.999 {
		t.Errorf("mildly spammy: P = %g", p)
	}
	// A property of the method, not a bug: with every f = 0.6 both -ln f
	// (0.51) and -ln(1-f) (0.92) are below their mean under the null
	// hypothesis (1), so neither H nor S rejects it and P stays 0.5
	// however many such tokens there are.
	if p := Classify(cfg, tot, repeat(TokenStat{Spam: 60, Ham: 40}, n)).Prob; !near(p, 0.5, 1e-9) {
		t.Errorf("f=0.6 tokens: P = %g", p)
	}
}

func TestTop(t *testing.T) {
	cfg := open()
	cfg.TopTokens = 4
	toks := []TokenStat{
		{Spam: 3, Ham: 1},   // weak spam
		{Spam: 50},          // strong spam
		{Ham: 50},           // strong ham, same strength as 1
		{Spam: 1, Ham: 1},   // f=0.5: filtered
		{Spam: 10, Ham: 1},  // medium spam
		{Ham: 20, Spam: 1},  // medium ham
		{Spam: 50, Dist: 2}, // strong but weight 1/2
		{Spam: 3, Ham: 1},   // same as 0
	}
	r := Classify(cfg, eq100, toks)
	if r.Used != 7 {
		t.Fatalf("used %d, want 7", r.Used)
	}
	idx := make([]int, len(r.Top))
	for i, c := range r.Top {
		idx[i] = c.Index
	}
	want := []int{1, 2, 5, 6} // |evidence| 4.62, 4.62, 2.62, 2.31 (½·4.62), then 4 at 1.95
	if len(idx) != len(want) || cap(r.Top) != len(r.Top) {
		t.Fatalf("top %v, want %v", idx, want)
	}
	for i := range want {
		if idx[i] != want[i] {
			t.Fatalf("top %v, want %v", idx, want)
		}
	}
	c := r.Top[0]
	f := 50.5 / 51
	if !near(c.Prob, f, 1e-15) || c.Weight != 1 || !near(c.Evidence, math.Log(f/(1-f)), 1e-12) {
		t.Fatalf("top[0] = %+v", c)
	}
	if r.Top[1].Evidence >= 0 || r.Top[0].Evidence <= 0 {
		t.Fatalf("evidence signs: %+v", r.Top)
	}

	// Ties keep input order; all usable tokens when fewer than TopTokens.
	cfg.TopTokens = 100
	r = Classify(cfg, eq100, toks)
	if len(r.Top) != 7 || r.Top[5].Index != 0 || r.Top[6].Index != 7 {
		t.Fatalf("full top: %+v", r.Top)
	}
	for i := 1; i < len(r.Top); i++ {
		if math.Abs(r.Top[i].Evidence) > math.Abs(r.Top[i-1].Evidence) {
			t.Fatalf("top not ordered: %+v", r.Top)
		}
	}

	// Random inputs: Top equals the TopTokens largest |Evidence|.
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]TokenStat, 5000)
	for i := range big {
		big[i] = TokenStat{Spam: rng.Uint32N(40), Ham: rng.Uint32N(40), Dist: uint8(rng.IntN(4))}
	}
	cfg.TopTokens = 10
	r = Classify(cfg, eq100, big)
	cfg.TopTokens = 100000
	all := Classify(cfg, eq100, big)
	if len(r.Top) != 10 || all.Prob != r.Prob {
		t.Fatalf("random: %d top", len(r.Top))
	}
	for i := range r.Top {
		if r.Top[i] != all.Top[i] {
			t.Fatalf("random top[%d] = %+v, want %+v", i, r.Top[i], all.Top[i])
		}
	}

	cfg.TopTokens = 0
	if r := Classify(cfg, eq100, toks); r.Top != nil || r.Used != 7 {
		t.Fatalf("TopTokens 0: %+v", r)
	}
}

func TestMaxTokens(t *testing.T) {
	cfg := open()
	cfg.MaxTokens = 3
	toks := []TokenStat{
		{Spam: 3, Ham: 1},  // weak
		{Spam: 50},         // strongest
		{Ham: 20, Spam: 1}, // medium ham
		{Spam: 10, Ham: 1}, // medium spam
		{Spam: 1, Ham: 1},  // filtered
		{Spam: 3, Ham: 2},  // weak
	}
	want := Classify(open(), eq100, []TokenStat{toks[1], toks[2], toks[3]})
	var sc Scratch
	for range 3 {
		got := ClassifyWith(cfg, eq100, toks, &sc)
		if !near(got.Prob, want.Prob, 1e-12) || got.Used != 3 {
			t.Fatalf("got %+v, want P=%g", got, want.Prob)
		}
	}
	if got := Classify(cfg, eq100, toks); !near(got.Prob, want.Prob, 1e-12) || got.Top[0].Index != 1 {
		t.Fatalf("nil scratch: %+v", got)
	}
	// Fewer tokens than MaxTokens: all used.
	cfg.MaxTokens = 100
	if got := Classify(cfg, eq100, toks); got.Used != 5 {
		t.Fatalf("MaxTokens 100: used %d", got.Used)
	}
}

func TestSymbol(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		logOdds  float64
		name     string
		min, max float64
	}{
		{0, SymbolHam, 0, 0}, // not silent: a symbol, scoring 0
		{1e-9, SymbolSpam, 0, 1e-8},
		{-1e-9, SymbolHam, -1e-8, 0},
		{math.E - 1, SymbolSpam, 5, 5}, // 5·ln(1+z)
		{-(math.E - 1), SymbolHam, -5, -5},
		{1e300, SymbolSpam, 3453, 3454}, // unbounded, finite
		{math.Inf(1), SymbolSpam, 3548, 3550},
	}
	for _, tc := range tests {
		name, score, ok := Symbol(cfg, Result{LogOdds: tc.logOdds, Used: 20})
		if !ok || name != tc.name || score < tc.min || score > tc.max {
			t.Errorf("log-odds %g: %q %g %v, want %q in [%g,%g]", tc.logOdds, name, score, ok, tc.name, tc.min, tc.max)
		}
	}
	// The score is strictly increasing in the log-odds, with no flat band
	// and no ceiling.
	prev := math.Inf(-1)
	for z := -1000.0; z <= 1000; z += 0.25 {
		_, s, _ := Symbol(cfg, Result{LogOdds: z})
		if !(s > prev) {
			t.Fatalf("not increasing at log-odds %g: %g -> %g", z, prev, s)
		}
		prev = s
	}
	// Silent results and NaN give no symbol.
	if _, _, ok := Symbol(cfg, Result{Prob: 1, LogOdds: 5, Silent: true}); ok {
		t.Error("silent gave a symbol")
	}
	if _, _, ok := Symbol(cfg, Result{LogOdds: math.NaN()}); ok {
		t.Error("NaN gave a symbol")
	}
}

// TestLogOdds: Result.LogOdds agrees with Prob where Prob is not rounded,
// and keeps ordering verdicts where Prob is 1.
func TestLogOdds(t *testing.T) {
	cfg := DefaultConfig()
	totals := Totals{Spam: 100, Ham: 100}
	var prevLO float64
	for n := 11; n <= 400; n += 20 {
		toks := make([]TokenStat, n)
		for i := range toks {
			toks[i] = TokenStat{Spam: 30, Ham: 1}
		}
		r := Classify(cfg, totals, toks)
		if r.Prob > 0.01 && r.Prob < 0.99 {
			if want := math.Log(r.Prob / (1 - r.Prob)); !near(r.LogOdds, want, 1e-6) {
				t.Errorf("%d tokens: log-odds %g, Prob gives %g", n, r.LogOdds, want)
			}
		}
		if !(r.LogOdds > prevLO) {
			t.Errorf("%d tokens: log-odds %g not above %g (Prob %g)", n, r.LogOdds, prevLO, r.Prob)
		}
		prevLO = r.LogOdds
	}
	if prevLO < 50 {
		t.Errorf("400 spammy tokens: log-odds %g", prevLO)
	}
}

func TestEndToEndSymbol(t *testing.T) {
	cfg := DefaultConfig()
	tot := Totals{Spam: 1000, Ham: 1000}
	toks := append(repeat(TokenStat{Spam: 40, Ham: 2}, 30), repeat(TokenStat{Spam: 5, Ham: 30, Dist: 1}, 5)...)
	r := Classify(cfg, tot, toks)
	name, score, ok := Symbol(cfg, r)
	if !ok || name != SymbolSpam || score < 6 {
		t.Fatalf("%+v -> %q %g %v", r, name, score, ok)
	}
	if !strings.HasPrefix(name, "BAYES_") {
		t.Fatal(name)
	}
}

func TestAllocs(t *testing.T) {
	toks := benchTokens(1000)
	tot := Totals{Spam: 5000, Ham: 7000}
	cfg := DefaultConfig()
	if a := testing.AllocsPerRun(50, func() { Classify(cfg, tot, toks) }); a > 1 {
		t.Errorf("Classify: %g allocs, want <= 1", a)
	}
	cfg.TopTokens = 0
	if a := testing.AllocsPerRun(50, func() { Classify(cfg, tot, toks) }); a > 0 {
		t.Errorf("Classify without Top: %g allocs, want 0", a)
	}
	cfg = DefaultConfig()
	cfg.MaxTokens = 150
	var sc Scratch
	if a := testing.AllocsPerRun(50, func() { ClassifyWith(cfg, tot, toks, &sc) }); a > 1 {
		t.Errorf("ClassifyWith MaxTokens: %g allocs, want <= 1", a)
	}
}

func benchTokens(n int) []TokenStat {
	rng := rand.New(rand.NewPCG(5, 6))
	toks := make([]TokenStat, n)
	for i := range toks {
		toks[i] = TokenStat{Spam: rng.Uint32N(200), Ham: rng.Uint32N(200), Dist: uint8(rng.IntN(3)), Meta: i%50 == 0}
	}
	return toks
}

func BenchmarkClassify1000(b *testing.B) {
	toks := benchTokens(1000)
	tot := Totals{Spam: 5000, Ham: 7000}
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		Classify(cfg, tot, toks)
	}
}

func BenchmarkClassify1000MaxTokens150(b *testing.B) {
	toks := benchTokens(1000)
	tot := Totals{Spam: 5000, Ham: 7000}
	cfg := DefaultConfig()
	cfg.MaxTokens = 150
	var sc Scratch
	b.ReportAllocs()
	for b.Loop() {
		ClassifyWith(cfg, tot, toks, &sc)
	}
}

// When chi-square is unsure, the geometric-mean indicator gives the
// direction: I = (1 + (S-H)/(S+H))/2 with S = 1-(Π(1-f))^(1/n), H = 1-(Π f)^(1/n).
func TestUnsureFallback(t *testing.T) {
	cfg := open()
	cfg.UnsureMargin = 0.4
	cfg.MinStrength = 0
	cfg.RobinsonS = 1e-9
	// Every f = 0.6: chi-square says 0.5 (neither test rejects); the
	// indicator says S = 0.6, H = 0.4, I = 0.6.
	if p := Classify(cfg, eq100, repeat(TokenStat{Spam: 60, Ham: 40}, 50)).Prob; !near(p, 0.6, 1e-6) {
		t.Errorf("f=0.6 tokens: P = %v, want 0.6", p)
	}
	// Strong evidence both ways, more of it spammy: chi-square is torn
	// (both tests reject), the indicator leans to spam.
	toks := append(repeat(TokenStat{Spam: 99, Ham: 1}, 60), repeat(TokenStat{Spam: 1, Ham: 99}, 40)...)
	chi := open()
	chi.MinStrength = 0
	chi.RobinsonS = 1e-9
	if p := Classify(chi, eq100, toks).Prob; math.Abs(p-0.5) > 0.4 {
		t.Fatalf("test premise: chi-square should be unsure here, P = %v", p)
	}
	f, g := 0.99, 0.01
	s := -math.Expm1((60*math.Log(1-f) + 40*math.Log(1-g)) / 100)
	h := -math.Expm1((60*math.Log(f) + 40*math.Log(g)) / 100)
	want := (1 + (s-h)/(s+h)) / 2
	if p := Classify(cfg, eq100, toks).Prob; !near(p, want, 1e-9) || p <= 0.5 {
		t.Errorf("torn evidence: P = %v, want %v (> 0.5)", p, want)
	}
	// A confident chi-square verdict is left alone.
	if p := Classify(cfg, eq100, repeat(TokenStat{Spam: 99, Ham: 1}, 30)).Prob; p < 0.99 {
		t.Errorf("all spammy: P = %v", p)
	}
}

// classic is the default configuration with Robinson's textbook smoothing
// (s = 1, every token with two hits and |f-0.5| >= 0.05), the setting the
// hand-computed cases were worked out for.
func classic() Config {
	c := DefaultConfig()
	c.RobinsonS = 1
	c.MinTokenHits = 2
	c.MinStrength = 0.05
	return c
}
