package bayes

import "math"

// probClamp bounds every per-token probability to [probClamp, 1-probClamp]
// before its logarithm is taken: no single token is ever proof, and ln 0
// never occurs.
const probClamp = 1e-6

// chi2Q returns the chi-square survival function Q(chi2 | dof), the
// probability that a chi-square variable with dof degrees of freedom exceeds
// chi2. dof need not be an integer (weighted tokens give fractional degrees
// of freedom). It is the regularised upper incomplete gamma function
// Q(dof/2, chi2/2).
func chi2Q(chi2, dof float64) float64 {
	return gammaQ(dof/2, chi2/2)
}

// gammaQ returns the regularised upper incomplete gamma function
// Q(a, x) = Γ(a, x)/Γ(a) for a > 0, x >= 0, always in [0, 1].
//
// For integer a this equals e^-x Σ_{k<a} x^k/k!, the closed form the
// classic Fisher/Robinson combiners use; that form multiplies e^-x (which
// underflows for x > ~745) by a sum that overflows for large a, so instead
// the prefactor x^a e^-x / Γ(a) is computed in log space and combined with
// the power series of P(a, x) (x < a+1) or the Lentz continued fraction of
// Q(a, x) (x >= a+1), as in Numerical Recipes gser/gcf. Both converge in
// O(sqrt(a)) iterations in the worst case (x close to a), so a = 100k costs
// a few thousand iterations and never produces NaN or Inf.
func gammaQ(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x):
		return math.NaN()
	case !(a > 0):
		// Zero degrees of freedom: all mass at 0.
		return 0
	case x <= 0:
		return 1
	case math.IsInf(x, 1):
		return 0
	case math.IsInf(a, 1):
		return 1
	}
	lnPre := gammaPrefix(a, x)
	if x < a+1 {
		return clamp01(1 - gammaSeries(a, x)*math.Exp(lnPre))
	}
	return clamp01(math.Exp(lnPre) * gammaFraction(a, x))
}

// gammaPrefix is ln(x^a e^-x / Γ(a)).
func gammaPrefix(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return a*math.Log(x) - x - lg
}

// gammaIter bounds the iterations of gammaSeries and gammaFraction: both
// converge in O(sqrt(a)) in the worst case (x close to a).
func gammaIter(a float64) int { return 100 + int(30*math.Sqrt(a)) }

// gammaSeries is the power series of P(a, x) without its prefactor:
// P(a,x) = x^a e^-x / Γ(a) · Σ_k x^k / (a (a+1) ... (a+k)), for x < a+1
// (Numerical Recipes' gser).
func gammaSeries(a, x float64) float64 {
	const eps = 1e-16
	ap := a
	del := 1 / a
	sum := del
	for range gammaIter(a) {
		ap++
		del *= x / ap
		sum += del
		if del < sum*eps {
			break
		}
	}
	return sum
}

// gammaFraction is the Lentz continued fraction of Q(a, x) without its
// prefactor, for x >= a+1 (Numerical Recipes' gcf):
// Q(a,x) = x^a e^-x / Γ(a) · 1/(x+1-a- 1·(1-a)/(x+3-a- 2·(2-a)/(x+5-a- ...))).
func gammaFraction(a, x float64) float64 {
	const eps = 1e-16
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i, n := 1, gammaIter(a); i <= n; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

func clamp01(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// gammaLogPQ returns ln P(a, x) and ln Q(a, x) (P = 1 - Q, the regularised
// lower incomplete gamma function), each accurate where it is tiny: the
// side that gammaQ would round to 0 or 1 keeps its logarithm, so that a
// verdict far beyond float64's resolution near 1 still has an exact
// log-odds. Arguments as gammaQ's; ln 0 is -Inf.
func gammaLogPQ(a, x float64) (lnP, lnQ float64) {
	switch {
	case math.IsNaN(a) || math.IsNaN(x):
		return math.NaN(), math.NaN()
	case !(a > 0), math.IsInf(x, 1):
		return 0, math.Inf(-1)
	case x <= 0, math.IsInf(a, 1):
		return math.Inf(-1), 0
	}
	lnPre := gammaPrefix(a, x)
	if x < a+1 {
		lnP = min(0, lnPre+math.Log(gammaSeries(a, x)))
		return lnP, log1mexp(lnP)
	}
	lnQ = min(0, lnPre+math.Log(gammaFraction(a, x)))
	return log1mexp(lnQ), lnQ
}

// log1mexp returns ln(1 - e^v) for v <= 0, accurately at both ends.
func log1mexp(v float64) float64 {
	if v > -math.Ln2 {
		return math.Log(-math.Expm1(v))
	}
	return math.Log1p(-math.Exp(v))
}

// logAddExp returns ln(e^a + e^b) without overflow or underflow.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(a, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}
