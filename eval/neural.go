package eval

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sluicemail/sluice/evalstats"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/scan"
)

// NeuralOptions configure RunNeural.
type NeuralOptions struct {
	Folds  int    // folds of the train list (at least 2)
	Seed   uint64 // training seed
	Hidden int    // hidden units of the network
	// SpamWeight and HamWeight score the network's symbol (scan.Neural).
	SpamWeight, HamWeight float64
	// Threshold is the score from which a message is called spam; MaxFPR
	// the false-positive cap of the FN-rate figure.
	Threshold, MaxFPR float64
}

// NeuralResult is what RunNeural measured.
type NeuralResult struct {
	Without evalstats.Report `json:"without_network"`
	With    evalstats.Report `json:"with_network"`
	// TrainWith are the figures of the train list's own out-of-sample
	// scores with the network (Bayes out of fold, the network's
	// log-odds from nn.Train's shrinkage folds; absent when those were
	// not measured): TrainWith.ThresholdAtFPR is the lowest score with FP
	// at most MaxFPR there, the add_header these scores support.
	TrainWith *evalstats.Report `json:"train_with_network,omitempty"`
	Train     nn.Report         `json:"training"`
	Samples   int               `json:"training_samples"`
	Inputs    int               `json:"inputs"`
	Hidden    int               `json:"hidden"`
	// Network is the network trained on the train list's out-of-fold
	// verdicts.
	Network *nn.Network `json:"-"`
}

// RunNeural measures the neural post-classifier. The network must learn
// from verdicts on messages Bayes did not learn from, as in service, so
// the train list is cut into folds: for each fold a statfile learns the
// other folds and scans the fold, giving one input vector per train
// message. The network trains on those vectors; then a statfile learns
// the whole train list and scans the test list, and the figures are
// reported without and with the network's symbol. The network trains as
// the learner's does (nn.Train's defaults: the Bayes score as its offset,
// an average of nn.DefaultMembers networks, nn.DefaultHamCost), so these
// figures are the ones a site's live-trained network earns on verdicts
// like these. nn.Train scales the network's log-odds by the factor that
// ranks its own held-out samples best with SpamWeight (Report.Shrink).
func RunNeural(ctx context.Context, opts Options, nopts NeuralOptions, train, test []Message) (*NeuralResult, error) {
	if nopts.Folds < 2 {
		return nil, fmt.Errorf("eval: %d folds: need at least 2", nopts.Folds)
	}
	var names []string
	var samples []nn.Sample
	for k := range nopts.Folds {
		var learnSet, scanSet []Message
		for i, m := range train {
			if i%nopts.Folds == k {
				scanSet = append(scanSet, m)
			} else {
				learnSet = append(learnSet, m)
			}
		}
		vs, s, err := opts.learnThenScan(ctx, fmt.Sprintf("fold%d.statfile", k), learnSet, scanSet)
		if err != nil {
			return nil, err
		}
		names = s.InputNames()
		for i, v := range vs {
			if v != nil {
				samples = append(samples, nn.Sample{X: v.Inputs, Spam: scanSet[i].Spam})
			}
		}
	}
	net, trep, err := nn.Train(names, samples, nn.TrainOptions{Seed: nopts.Seed, Hidden: nopts.Hidden, Weight: nopts.SpamWeight})
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	ncfg := scan.Neural{SpamWeight: nopts.SpamWeight, HamWeight: nopts.HamWeight}
	var trainWith *evalstats.Report
	if k, ok := indexOf(names, nn.OffsetInput); ok && len(trep.HeldOut) == len(samples) {
		oos := make([]evalstats.Sample, len(samples))
		for i, s := range samples {
			oos[i] = evalstats.Sample{Spam: s.Spam, Score: float64(s.X[k]) + scan.NeuralSymbol(ncfg, trep.HeldOut[i]).Score}
		}
		r := evalstats.Compute(oos, nopts.Threshold, nopts.MaxFPR)
		trainWith = &r
	}
	vs, _, err := opts.learnThenScan(ctx, "all.statfile", train, test)
	if err != nil {
		return nil, err
	}
	var without, with []evalstats.Sample
	x := make([]float32, 0, len(names))
	for i, v := range vs {
		if v == nil {
			continue
		}
		x = net.Fill(x, names, v.Inputs)
		lo := net.LogOdds(x)
		sym := scan.NeuralSymbol(ncfg, lo)
		spam := test[i].Spam
		without = append(without, evalstats.Sample{Spam: spam, Score: v.Score})
		with = append(with, evalstats.Sample{Spam: spam, Score: v.Score + sym.Score})
	}
	return &NeuralResult{
		Without:   evalstats.Compute(without, nopts.Threshold, nopts.MaxFPR),
		With:      evalstats.Compute(with, nopts.Threshold, nopts.MaxFPR),
		TrainWith: trainWith,
		Train:     trep, Samples: len(samples), Inputs: len(names), Hidden: net.Hidden, Network: net,
	}, nil
}

// learnThenScan learns learnSet into a fresh statfile and scans scanSet
// with input vectors kept; a message that fails to scan has a nil verdict.
func (o *Options) learnThenScan(ctx context.Context, name string, learnSet, scanSet []Message) ([]*scan.Verdict, *scan.Scanner, error) {
	w, l, err := o.statfile(name)
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	if err := o.learnAll(ctx, l, learnSet); err != nil {
		return nil, nil, err
	}
	s := scan.New(w, o.Scan)
	out := make([]*scan.Verdict, len(scanSet))
	for i, m := range scanSet {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		v, err := s.Scan(ctx, bytes.NewReader(m.Data), scan.Request{KeepInputs: true})
		if err != nil {
			o.warn(fmt.Errorf("scan %s: %w", m.Path, err))
			continue
		}
		out[i] = v
	}
	return out, s, nil
}

func indexOf(names []string, name string) (int, bool) {
	for i, n := range names {
		if n == name {
			return i, true
		}
	}
	return 0, false
}
