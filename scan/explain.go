package scan

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the verdict as `sluice scan` prints it: one line
// (name, action, score, Bayes probability, symbols) and, with explain,
// the lines of --explain: why Bayes was silent, whose statistics and
// which profile judged, what was truncated or listed, the network's
// part, and the tokens that weighed most.
func (v *Verdict) WriteText(w io.Writer, name string, explain bool) {
	syms := make([]string, len(v.Symbols))
	for i, s := range v.Symbols {
		syms[i] = fmt.Sprintf("%s(%.2f)", s.Name, s.Score)
	}
	fmt.Fprintf(w, "%s\t%s\tscore=%.2f\tprob=%.4f\t%s\n", name, v.Action, v.Score, v.Prob, strings.Join(syms, ","))
	if !explain {
		return
	}
	if v.Silent != "" {
		fmt.Fprintf(w, "  bayes silent: %s\n", v.Silent)
	}
	if v.Namespace != "" {
		fmt.Fprintf(w, "  statistics of %s\n", v.Namespace)
	}
	if v.Profile != "" {
		fmt.Fprintf(w, "  settings profile %s\n", v.Profile)
	}
	if v.Truncated != "" {
		fmt.Fprintf(w, "  truncated: %s\n", v.Truncated)
	}
	for _, l := range v.Listed {
		fmt.Fprintf(w, "  listed: %s\n", l)
	}
	if n := v.Network; n != nil {
		fmt.Fprintf(w, "  network: epoch %d, digest %.16s, %d of %d inputs known", n.Epoch, n.Digest, n.Known, n.Inputs)
		if n.Used {
			fmt.Fprintf(w, ", output %+.3f: %s(%+.2f)\n", n.Output, n.Symbol.Name, n.Symbol.Score)
		} else {
			fmt.Fprintf(w, ": not used (fewer than 70%% known)\n")
		}
	}
	for _, t := range v.Top {
		fmt.Fprintf(w, "  %+7.2f  p=%.3f  spam=%-6d ham=%-6d %s\n", t.Evidence, t.Prob, t.Spam, t.Ham, t.Text)
	}
}
