package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/evalstats"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/scan"
)

// evalNeural is `sluice eval --nn`: it measures the neural post-classifier.
// The network must learn from verdicts on messages Bayes did not learn
// from, as in service, so the train list is cut into folds: for each fold
// a statfile learns the other folds and scans the fold, giving one input
// vector per train message. The network trains on those vectors; then a
// statfile learns the whole train list and scans the test list, and the
// figures are reported without and with the network's symbol.
func evalNeural(ctx context.Context, std *stdio, cfg config.Config, train, test []labelled, folds int, seed uint64, asJSON bool) error {
	if folds < 2 {
		return fmt.Errorf("--nn-folds %d: need at least 2", folds)
	}
	dir, err := os.MkdirTemp("", "sluice-eval-nn-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var names []string
	var samples []nn.Sample
	for k := 0; k < folds; k++ {
		var learnSet, scanSet []labelled
		for i, m := range train {
			if i%folds == k {
				scanSet = append(scanSet, m)
			} else {
				learnSet = append(learnSet, m)
			}
		}
		vs, s, err := evalScan(ctx, std, cfg, filepath.Join(dir, fmt.Sprintf("fold%d.statfile", k)), learnSet, scanSet)
		if err != nil {
			return err
		}
		names = s.InputNames()
		for i, v := range vs {
			if v != nil {
				samples = append(samples, nn.Sample{X: v.Inputs, Spam: scanSet[i].spam})
			}
		}
	}
	net, trep, err := nn.Train(names, samples, nn.TrainOptions{Seed: seed, Hidden: cfg.Neural.Hidden})
	if err != nil {
		return err
	}
	vs, _, err := evalScan(ctx, std, cfg, filepath.Join(dir, "all.statfile"), train, test)
	if err != nil {
		return err
	}
	ncfg := scan.Neural{SpamWeight: cfg.Neural.SpamWeight, HamWeight: cfg.Neural.HamWeight}
	var without, with, alone []evalstats.Sample
	x := make([]float32, 0, len(names))
	for i, v := range vs {
		if v == nil {
			continue
		}
		x = net.Fill(x, names, v.Inputs)
		out := net.SpamScore(net.Forward(x))
		sym := scan.NeuralSymbol(ncfg, out)
		spam := test[i].spam
		without = append(without, evalstats.Sample{Spam: spam, Score: v.Score, Tiebreak: rankKey(v)})
		with = append(with, evalstats.Sample{Spam: spam, Score: v.Score + sym.Score, Tiebreak: rankKey(v)})
		alone = append(alone, evalstats.Sample{Spam: spam, Score: out})
	}
	t := cfg.Actions.AddHeader
	res := struct {
		Without evalstats.Report `json:"without_network"`
		With    evalstats.Report `json:"with_network"`
		Alone   evalstats.Report `json:"network_alone"`
		Train   nn.Report        `json:"training"`
		Samples int              `json:"training_samples"`
		Inputs  int              `json:"inputs"`
		Hidden  int              `json:"hidden"`
	}{evalstats.Compute(without, t, maxFPR), evalstats.Compute(with, t, maxFPR), evalstats.Compute(alone, 0, maxFPR), trep, len(samples), len(names), net.Hidden}
	if asJSON {
		return writeJSON(std.out, res)
	}
	fmt.Fprintf(std.out, "network: %d inputs, %d hidden, trained on %d out-of-fold verdicts (%d folds); %d epochs, best %d, held-out loss %.4f\n",
		len(names), net.Hidden, len(samples), folds, trep.Epochs, trep.BestEpoch, trep.HoldoutLoss)
	fmt.Fprintf(std.out, "--- without the network (Bayes and rules)\n%s", res.Without)
	fmt.Fprintf(std.out, "--- with the network (NEURAL_SPAM %+g, NEURAL_HAM %+g)\n%s", ncfg.SpamWeight, ncfg.HamWeight, res.With)
	fmt.Fprintf(std.out, "--- the network's output alone (threshold 0)\n%s", res.Alone)
	return nil
}

// evalScan learns learnSet into a fresh statfile at path and scans scanSet
// with input vectors kept; a message that fails to scan has a nil verdict.
func evalScan(ctx context.Context, std *stdio, cfg config.Config, path string, learnSet, scanSet []labelled) ([]*scan.Verdict, *scan.Scanner, error) {
	w, l, err := evalStatfile(std, cfg, path)
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	for _, m := range learnSet {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if _, err := l.Learn(bytes.NewReader(m.data), labelOf(m.spam), ""); err != nil {
			fmt.Fprintf(std.err, "sluice eval: learn %s: %v\n", m.path, err)
		}
	}
	s := scan.New(w, scanOptions(cfg))
	out := make([]*scan.Verdict, len(scanSet))
	for i, m := range scanSet {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		v, err := s.Scan(ctx, bytes.NewReader(m.data), scan.Request{KeepInputs: true})
		if err != nil {
			fmt.Fprintf(std.err, "sluice eval: scan %s: %v\n", m.path, err)
			continue
		}
		out[i] = v
	}
	return out, s, nil
}
