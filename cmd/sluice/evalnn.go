package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/eval"
	"github.com/sluicemail/sluice/nn"
)

// evalNeural is `sluice eval --nn`: it measures the neural post-classifier
// (eval.RunNeural) and prints the figures without and with it.
func evalNeural(ctx context.Context, std *stdio, cfg config.Config, train, test []eval.Message, folds int, seed uint64, save string, asJSON bool) error {
	dir, err := os.MkdirTemp("", "sluice-eval-nn-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	n := cfg.Neural
	res, err := eval.RunNeural(ctx, evalOptions(std, cfg, dir), eval.NeuralOptions{
		Folds: folds, Seed: seed, Hidden: n.Hidden, SpamWeight: n.SpamWeight, HamWeight: n.HamWeight,
		Threshold: cfg.Actions.AddHeader, MaxFPR: maxFPR,
	}, train, test)
	if err != nil {
		return err
	}
	if save != "" {
		res.Network.Epoch = 1
		if err := nn.Save(save, res.Network); err != nil {
			return fmt.Errorf("--nn-save: %w", err)
		}
	}
	if asJSON {
		return writeJSON(std.out, res)
	}
	fmt.Fprintf(std.out, "network: %d inputs, %d hidden, trained on %d out-of-sample verdicts (%d folds; 0: leave-one-out); %d epochs, best %d, held-out loss %.4f\n",
		res.Inputs, res.Hidden, res.Samples, folds, res.Train.Epochs, res.Train.BestEpoch, res.Train.HoldoutLoss)
	fmt.Fprintf(std.out, "log-odds × %g: on its own held-out folds (1-AUC)%% %.4f with the offset alone, %.4f so\n",
		res.Train.Shrink, res.Train.OffsetAUC, res.Train.ShrunkAUC)
	if res.TrainWith != nil {
		fmt.Fprintf(std.out, "--- the train list out of sample, with the network (add_header for FP <= %g%%: %.4g)\n%s",
			100*res.TrainWith.MaxFPR, res.TrainWith.ThresholdAtFPR, res.TrainWith)
	}
	fmt.Fprintf(std.out, "--- without the network (Bayes and rules)\n%s", res.Without)
	fmt.Fprintf(std.out, "--- with the network (NEURAL_SPAM %g × its log-odds, NEURAL_HAM %g × its log-odds of ham)\n%s", n.SpamWeight, n.HamWeight, res.With)
	return nil
}
