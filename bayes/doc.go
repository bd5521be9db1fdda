// Package bayes is Sluice's Bayesian classifier: pure math, no I/O. The
// caller tokenises the message, looks each token up in the statistics file
// and passes the counts; [Classify] returns the spam probability, and
// [Symbol] turns it into the BAYES_SPAM / BAYES_HAM symbol and score.
//
// # Gates (silence)
//
// Classify returns Silent (P = 0.5, no symbol) with a Reason when
//   - either class has fewer than MinLearns learned messages (default 10;
//     rspamd's 200 leaves small sites without Bayes for weeks, see rspamd
//     issue #4524). Measured on the public corpus (test half, learning n
//     messages per class from the train half, min_learns 0): FP rate at
//     the default threshold 1.1% at n=5, then 0.0%, 0.0%, 0.08%, 0.0%,
//     0.08% at n=10, 20, 50, 100, 200, while the FN rate falls from 74% to
//     32% over the same range. What makes speaking early dangerous, false
//     positives, is gone from 10 learns per class; the rest only gets
//     better with more learns, so there is no reason to stay silent longer.
//   - the message has fewer than MinTokens text tokens (default 11, the
//     seeds' min_tokens; metatokens do not count, so metadata alone never
//     produces a verdict);
//   - no token survives the per-token filters below.
//
// # Per-token probability
//
// For a token seen in s spam and h ham messages, with S and H learned
// messages per class, n = s+h:
//
//	spam_freq = s/max(1,S), ham_freq = h/max(1,H)
//	p = spam_freq / (spam_freq + ham_freq)
//	f = (RobinsonS·RobinsonX + n·p) / (RobinsonS + n)          (Robinson smoothing)
//
// (1-f is computed by the mirror formula, so neither side loses precision.)
// Tokens with n < MinTokenHits (default 1) or |f-0.5| < MinStrength
// (default 0.375, f = 0.5 included) are ignored. f is then clamped to
// [1e-6, 1-1e-6]: no single token is proof, and ln 0 cannot happen.
//
// The defaults (RobinsonS 0.0178, RobinsonX 0.5, MinStrength 0.375,
// MinTokenHits 1) are bogofilter's long-tuned values, and were measured
// here: on the public SpamAssassin corpus, 4-fold cross-validation over
// windows 2–4 and s in {0.0178, 0.03, 0.05, 0.1, 0.3, 1}, strength in
// {0.05…0.4} and hits in {1, 2, 3} put them at the best (1-AUC)% and FN rate
// at FP <= 0.1% together; textbook Robinson smoothing (s = 1, strength 0.05,
// two hits) was worse on both by about a third. Only decisive tokens vote:
// with OSB pairs a message has hundreds of weak, correlated tokens whose
// combined "evidence" is mostly noise.
//
// Re-measured on 2026-12-05 with the header tokens and the network
// (bench/README.md, "The third push"): a stricter MinStrength (0.4 to
// 0.475) is better for Bayes alone on every cross-validation figure, but
// with the network, which the default configuration has, every value
// other than 0.375 was worse. So were other s and x values and a
// MaxTokens cap (15, 27, 50, 150, 400).
//
// # Weights
//
// Each token has an evidence weight w = DistWeights[min(Dist,7)]: the token
// counts as if it occurred w times, i.e. w·ln f enters the sums and w the
// degrees of freedom. An integer w is exactly the same as repeating the
// token; fractional weights interpolate through the incomplete gamma
// function. The defaults {1, 1, 1/2, 1/3, ..., 1/7} give unigrams,
// metatokens and adjacent pairs full weight and farther OSB pairs
// harmonically less: a word takes part in one pair per distance, so pairs
// at larger distances mostly repeat evidence the nearer pairs already gave,
// and are weaker on their own. (rspamd instead puts its per-distance weight
// into the smoothing strength, which makes it ≈1 for distances 1–3 and 0,
// i.e. no smoothing at all, from 5 on; we do not copy that.)
//
// Metatokens are combined like text tokens, but their total weight is
// capped at MetaMaxShare (default 1) times the total weight of the text
// tokens used: above the cap every metatoken's weight is scaled by the
// same factor, so metadata can at most match the text's say. (rspamd drops
// all metatokens as soon as they are at least as many as the text tokens,
// through an integer division; a cap keeps their evidence without letting
// it dominate.) MetaMaxShare <= 0 ignores metatokens.
//
// With MaxTokens > 0 only the MaxTokens most influential usable tokens are
// combined (influence w·|ln(f/(1-f))|, the Graham/bogofilter "most extreme
// tokens" idea); the default 0 combines all.
//
// # Combining: inverse chi-square (Fisher/Robinson)
//
// With W = Σw over the tokens used:
//
//	H = chi2Q(-2 Σ w·ln f,     2W)   near 1 when the tokens are spammy
//	S = chi2Q(-2 Σ w·ln(1-f),  2W)   near 1 when the tokens are hammy
//	P = (1 + H - S) / 2
//
// When P is within UnsureMargin (0.4) of 0.5 the chi-square verdict is
// unsure — long messages often carry strong evidence both ways, both tests
// reject and P lands near 0.5 whichever way the evidence leans — and P is
// replaced by Robinson's geometric-mean indicator
//
//	I = (1 + (S' - H')/(S' + H')) / 2,  S' = 1 - (Π(1-f))^(1/W),  H' = 1 - (Π f)^(1/W)
//
// (weighted geometric means), which keeps the direction of the average
// evidence and stays near 0.5 in proportion to the doubt. On the public
// corpus this moved (1-AUC)% from 0.027 to 0.021 (official split) and from
// 0.072 to 0.066 (4-fold mean). Such verdicts stay between about 0.3 and
// 0.7, so they score little: Bayes alone does not mark a message it is
// unsure about.
//
// chi2Q(x, ν) is the chi-square survival function, computed as the
// regularised upper incomplete gamma Q(ν/2, x/2) with its prefactor in log
// space (series or continued fraction, Numerical Recipes style): no
// overflow, underflow to NaN, or loss of the answer for ν up to millions,
// unlike the e^-m Σ m^k/k! product loop (which rspamd has to abandon below
// sums of -300 for a "naive" fallback).
//
// # Log-odds, symbol and score
//
// Result.LogOdds is ln(P/(1-P)) computed from the logarithms of the four
// chi-square tails (ln H, ln(1-H), ln S, ln(1-S)), so it is exact where P
// itself rounds to 1 — on the public corpus about a third of the spam —
// and keeps ordering those verdicts; in the unsure band it is the
// indicator's ln(S'/H').
//
// [Symbol] maps it to BAYES_SPAM = SpamSymbolScore·ln(1+z) for z > 0 and
// BAYES_HAM = HamSymbolScore·ln(1+|z|) otherwise (defaults 5 and -5):
// strictly increasing, no ceiling and no dead band, so the score ranks
// exactly as P does (with LogOdds beyond P's rounding). The logarithm only
// compresses the chi-square tails (log-odds in the hundreds) into tens of
// points. It replaced rspamd's ((P-0.5)·2)^8 ramp capped at 8 with no
// symbol for |P-0.5| <= 0.05: on the public corpus's test split that ramp
// scored 136 of 577 spams exactly 0 and ranked (1-AUC)% 0.054 / FN at
// FP <= 0.1% 12.6% by score alone, against 0.0175 / 3.29% now.
package bayes
