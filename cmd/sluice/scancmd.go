package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/tokenizer"
)

// cmdScan classifies messages and prints a line (or a JSON object) each.
func cmdScan(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("scan", "[PATH...]", std, true)
	explain := fs.Bool("explain", false, "list the tokens that weighed most, as words")
	user := fs.String("user", "", "classify with this user's statistics (with users_enabled)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	stats, closeStats, err := openStats(cfg)
	if err != nil {
		return err
	}
	defer closeStats()
	s := scan.New(stats, scanOptions(cfg))
	var firstBad error
	err = walkMessages(std, fs.Args(), func(m message) error {
		v, err := s.Scan(ctx, bytes.NewReader(m.data), scan.Request{User: *user, Explain: *explain})
		if tokenizer.IsNotMessage(err) {
			if firstBad == nil {
				firstBad = fmt.Errorf("%s: %w", m.name, err)
			}
			fmt.Fprintf(std.err, "sluice scan: %s: %v\n", m.name, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if c.json {
			return writeJSON(std.out, struct {
				Path string `json:"path"`
				*scan.Verdict
			}{m.name, v})
		}
		printVerdict(std.out, m.name, v, *explain)
		return nil
	})
	if err != nil {
		return err
	}
	if firstBad != nil {
		return &exitError{code: exitDataErr}
	}
	return nil
}

func printVerdict(w io.Writer, name string, v *scan.Verdict, explain bool) {
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
	if v.Truncated != "" {
		fmt.Fprintf(w, "  truncated: %s\n", v.Truncated)
	}
	for _, t := range v.Top {
		fmt.Fprintf(w, "  %+7.2f  p=%.3f  spam=%-6d ham=%-6d %s\n", t.Evidence, t.Prob, t.Spam, t.Ham, t.Text)
	}
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
