package nn

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"time"
)

// Activation names a nonlinearity; its value is stored in the file.
type Activation uint8

// Activations.
const (
	ReLU    Activation = 1 // hidden layer: max(0, z)
	Tanh    Activation = 2 // output layer: tanh(z), in [-1, 1]
	Sigmoid Activation = 3 // output layer: 1/(1+e^-z), in [0, 1]
)

func (a Activation) String() string {
	switch a {
	case ReLU:
		return "relu"
	case Tanh:
		return "tanh"
	case Sigmoid:
		return "sigmoid"
	}
	return fmt.Sprintf("activation(%d)", uint8(a))
}

func (a Activation) apply(z float64) float64 {
	switch a {
	case ReLU:
		return max(0, z)
	case Tanh:
		return math.Tanh(z)
	case Sigmoid:
		return 1 / (1 + math.Exp(-z))
	}
	return z
}

// Network is a trained multilayer perceptron: inputs (by name), one hidden
// layer, one output. It is immutable once built and safe for concurrent
// use. A Network from Load owns its memory (see Load): the file it came
// from can change without changing it.
type Network struct {
	Inputs    []string   // input names, in vector order
	Digest    [32]byte   // InputDigest(Inputs)
	Hidden    int        // hidden units
	HiddenAct Activation // ReLU
	OutAct    Activation // Tanh or Sigmoid
	// Normalisation: the network sees (x - Offset[i]) * Scale[i].
	Offset, Scale []float32
	W1            []float32 // Hidden × len(Inputs), row-major (one row per hidden unit)
	B1            []float32 // Hidden
	W2            []float32 // Hidden
	B2            float32
	// Training facts, for `sluice stat`.
	SpamSamples, HamSamples uint64
	Epoch                   uint64 // publications since this network's input set started
	Created                 time.Time

	index map[string]int
}

// InputDigest identifies an input set: SHA-256 over the names sorted,
// each followed by a newline (a separator, so that {"ab","c"} and
// {"a","bc"} differ; the order of the vector does not matter).
func InputDigest(names []string) [32]byte {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	h := sha256.New()
	for _, n := range sorted {
		h.Write([]byte(n))
		h.Write([]byte{'\n'})
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// check validates the shapes and values of n and builds its name index.
func (n *Network) check() error {
	in := len(n.Inputs)
	switch {
	case in == 0 || in > maxInputs:
		return fmt.Errorf("%d inputs (want 1 to %d)", in, maxInputs)
	case n.Hidden <= 0 || n.Hidden > maxHidden:
		return fmt.Errorf("%d hidden units (want 1 to %d)", n.Hidden, maxHidden)
	case n.HiddenAct != ReLU && n.HiddenAct != Tanh:
		return fmt.Errorf("hidden activation %v", n.HiddenAct)
	case n.OutAct != Tanh && n.OutAct != Sigmoid:
		return fmt.Errorf("output activation %v", n.OutAct)
	case len(n.Offset) != in || len(n.Scale) != in:
		return fmt.Errorf("normalisation for %d/%d inputs, want %d", len(n.Offset), len(n.Scale), in)
	case len(n.W1) != in*n.Hidden || len(n.B1) != n.Hidden || len(n.W2) != n.Hidden:
		return fmt.Errorf("weight sizes %d/%d/%d, want %d/%d/%d", len(n.W1), len(n.B1), len(n.W2), in*n.Hidden, n.Hidden, n.Hidden)
	case n.Digest != InputDigest(n.Inputs):
		return fmt.Errorf("input digest does not match the input names")
	}
	index := make(map[string]int, in)
	for i, name := range n.Inputs {
		if name == "" || len(name) > maxNameLen {
			return fmt.Errorf("input %d: bad name length %d", i, len(name))
		}
		if _, dup := index[name]; dup {
			return fmt.Errorf("input %q twice", name)
		}
		index[name] = i
	}
	for _, s := range [][]float32{n.Offset, n.Scale, n.W1, n.B1, n.W2, {n.B2}} {
		for _, v := range s {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("a weight is not finite")
			}
		}
	}
	n.index = index
	return nil
}

// Index returns the position of the input named name.
func (n *Network) Index(name string) (int, bool) {
	i, ok := n.index[name]
	return i, ok
}

// Fill writes the network's input vector into dst (len(Inputs) long,
// reused when big enough) from named values: inputs the caller does not
// name are 0, names the network does not know are ignored.
func (n *Network) Fill(dst []float32, names []string, values []float32) []float32 {
	dst = slices.Grow(dst[:0], len(n.Inputs))[:len(n.Inputs)]
	clear(dst)
	for i, name := range names {
		if j, ok := n.index[name]; ok {
			dst[j] = values[i]
		}
	}
	return dst
}

// Forward runs the network on x (in Inputs order) and returns its output:
// in [-1, 1] for a Tanh output (spam > 0), in [0, 1] for Sigmoid.
func (n *Network) Forward(x []float32) float64 {
	return n.OutAct.apply(n.preactivation(x))
}

// LogOdds runs the network on x and returns its output as log-odds of
// spam, ln(p/(1-p)) with p the network's probability of spam ((1+out)/2
// for Tanh, out for Sigmoid): unbounded, so it keeps ordering messages
// where the output saturates at ±1.
func (n *Network) LogOdds(x []float32) float64 {
	z := n.preactivation(x)
	if n.OutAct == Tanh {
		return 2 * z // (1+tanh z)/2 = 1/(1+e^-2z)
	}
	return z
}

// preactivation is the output unit's input: W2·hidden + B2.
func (n *Network) preactivation(x []float32) float64 {
	in := len(n.Inputs)
	out := float64(n.B2)
	for j := 0; j < n.Hidden; j++ {
		row := n.W1[j*in : (j+1)*in]
		z := float64(n.B1[j])
		for i, w := range row {
			z += float64(w) * (float64(x[i]) - float64(n.Offset[i])) * float64(n.Scale[i])
		}
		out += float64(n.W2[j]) * n.HiddenAct.apply(z)
	}
	return out
}

// SpamScore maps the output to [-1, 1]: > 0 spam, < 0 ham.
func (n *Network) SpamScore(out float64) float64 {
	if n.OutAct == Sigmoid {
		return 2*out - 1
	}
	return out
}
