package bayes

import (
	"math"
	"testing"
)

// closedFormQ is the textbook closed form for integer a (even degrees of
// freedom): Q(m, x) = e^-x Σ_{k<m} x^k/k!. Only valid for moderate x and m.
func closedFormQ(m int, x float64) float64 {
	term := math.Exp(-x)
	sum := term
	for k := 1; k < m; k++ {
		term *= x / float64(k)
		sum += term
	}
	return sum
}

func TestGammaQClosedForm(t *testing.T) {
	for _, m := range []int{1, 2, 3, 5, 10, 25, 50} {
		for _, x := range []float64{1e-9, 0.1, 0.5, 1, 2.5, float64(m) - 0.5, float64(m), float64(m) + 1, 2 * float64(m), 30, 100} {
			want := closedFormQ(m, x)
			got := gammaQ(float64(m), x)
			if math.Abs(got-want) > 1e-13 && math.Abs(got-want) > 1e-11*want {
				t.Errorf("Q(%d, %g) = %.17g, closed form %.17g", m, x, got, want)
			}
		}
	}
}

// Half-integer a has closed forms through erfc: Q(1/2, x) = erfc(√x) and
// Q(3/2, x) = erfc(√x) + 2√(x/π) e^-x.
func TestGammaQHalfInteger(t *testing.T) {
	for _, x := range []float64{1e-6, 0.01, 0.3, 0.5, 1, 1.5, 2, 5, 10, 40} {
		want := math.Erfc(math.Sqrt(x))
		if got := gammaQ(0.5, x); math.Abs(got-want) > 1e-13 {
			t.Errorf("Q(0.5, %g) = %.17g, want %.17g", x, got, want)
		}
		want += 2 * math.Sqrt(x/math.Pi) * math.Exp(-x)
		if got := gammaQ(1.5, x); math.Abs(got-want) > 1e-13 {
			t.Errorf("Q(1.5, %g) = %.17g, want %.17g", x, got, want)
		}
	}
}

// Critical values from standard chi-square tables.
func TestChi2QTable(t *testing.T) {
	tests := []struct {
		x, dof, want float64
	}{
		{2.705543, 1, 0.10},
		{3.841459, 1, 0.05},
		{6.634897, 1, 0.01},
		{5.991465, 2, 0.05},
		{9.210340, 2, 0.01},
		{7.814728, 3, 0.05},
		{9.487729, 4, 0.05},
		{18.307038, 10, 0.05},
		{23.209251, 10, 0.01},
		{3.940299, 10, 0.95},
		{124.342113, 100, 0.05},
		{77.929465, 100, 0.95},
	}
	for _, tc := range tests {
		if got := chi2Q(tc.x, tc.dof); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("chi2Q(%g, %g) = %.9f, want %g", tc.x, tc.dof, got, tc.want)
		}
	}
}

// For large degrees of freedom the Wilson–Hilferty cube-root normal
// approximation is accurate to ~1e-6; use it as an independent check.
func TestChi2QLargeDof(t *testing.T) {
	wh := func(x, nu float64) float64 {
		z := (math.Cbrt(x/nu) - (1 - 2/(9*nu))) / math.Sqrt(2/(9*nu))
		return 0.5 * math.Erfc(z/math.Sqrt2)
	}
	for _, nu := range []float64{2e3, 2e4, 2e5, 2e6} {
		for _, r := range []float64{0.98, 0.995, 1, 1.003, 1.01} {
			x := nu * r
			got, want := chi2Q(x, nu), wh(x, nu)
			if math.Abs(got-want) > 2e-5 {
				t.Errorf("chi2Q(%g, %g) = %.9f, Wilson–Hilferty %.9f", x, nu, got, want)
			}
		}
	}
}

func TestGammaQExtremes(t *testing.T) {
	tests := []struct {
		a, x, want float64
	}{
		{1, 0, 1},
		{1, -1, 1},
		{1, math.Inf(1), 0},
		{0, 5, 0},
		{1e5, 1, 1},
		{1e5, 1e7, 0},
		{1e-3, 1e3, 0},
		{1e-3, 1e-300, 0.4985}, // P ≈ x^a/Γ(1+a) = 10^-0.3/Γ(1.001)
		{1, 800, 0},            // e^-800 underflows
		{1e6, 1e6 + 1, 0.5},
	}
	for _, tc := range tests {
		got := gammaQ(tc.a, tc.x)
		if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-tc.want) > 1e-3 {
			t.Errorf("Q(%g, %g) = %g, want ≈%g", tc.a, tc.x, got, tc.want)
		}
	}
	// Monotone non-increasing in x, always in [0,1].
	for _, a := range []float64{0.25, 1, 7.5, 1000, 1e5} {
		prev := 1.0
		for x := 0.0; x < 3*a+50; x += (3*a + 50) / 997 {
			q := gammaQ(a, x)
			if q < 0 || q > 1 || q > prev+1e-12 {
				t.Fatalf("Q(%g, %g) = %g after %g: not monotone in [0,1]", a, x, q, prev)
			}
			prev = q
		}
	}
}
