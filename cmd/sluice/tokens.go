package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/sluicemail/sluice/scanstack"
	"github.com/sluicemail/sluice/tokenizer"
)

// cmdTokens prints what the tokenizer makes of one message: its words and
// tokens, readably, or as JSON.
func cmdTokens(_ context.Context, std *stdio, args []string) error {
	fs, c := newFlags("tokens", "FILE (- for stdin)", std, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	in := std.in
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return &exitError{code: exitDataErr, err: err}
		}
		defer f.Close()
		in = f
	}
	opts := scanstack.TokenizerOptions(cfg)
	opts.Explain = true
	res, err := tokenizer.New(opts).Tokenize(in)
	if err != nil {
		return &exitError{code: exitDataErr, err: err}
	}
	if c.json {
		return writeTokensJSON(std, res)
	}
	for i, t := range res.Tokens {
		fmt.Fprintf(std.out, "%016x %-6s d=%d %s\n", t.Hash, t.Kind, t.Dist, res.Text[i])
	}
	fmt.Fprintf(std.out, "# %d tokens (%d body, %d meta), digest %x\n", len(res.Tokens), res.BodyTokens, res.MetaTokens, res.Digest[:8])
	if res.Truncated {
		fmt.Fprintf(std.out, "# truncated: %s\n", res.TruncatedReason)
	}
	for _, p := range res.Problems {
		fmt.Fprintf(std.out, "# problem: %s\n", p)
	}
	return nil
}

func writeTokensJSON(std *stdio, res *tokenizer.Result) error {
	type tok struct {
		Hash string `json:"hash"`
		Kind string `json:"kind"`
		Dist int    `json:"dist"`
		Text string `json:"text"`
	}
	out := struct {
		Tokens    []tok    `json:"tokens"`
		Digest    string   `json:"digest"`
		Truncated string   `json:"truncated,omitempty"`
		Problems  []string `json:"problems,omitempty"`
	}{Digest: fmt.Sprintf("%x", res.Digest), Problems: res.Problems}
	if res.Truncated {
		out.Truncated = res.TruncatedReason
	}
	for i, t := range res.Tokens {
		out.Tokens = append(out.Tokens, tok{fmt.Sprintf("%016x", t.Hash), t.Kind.String(), int(t.Dist), res.Text[i]})
	}
	enc := json.NewEncoder(std.out)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
