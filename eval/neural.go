package eval

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sluicemail/sluice/evalstats"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
	"github.com/sluicemail/sluice/scan"
)

// NeuralOptions configure RunNeural.
type NeuralOptions struct {
	// Folds are the folds of the train list whose out-of-fold verdicts
	// the network trains on (at least 2); 0 trains it on leave-one-out
	// verdicts of one statfile instead (LeaveOneOut).
	Folds  int
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
	// scores with the network (Bayes left out or out of fold, the network's
	// log-odds from nn.Train's shrinkage folds; absent when those were
	// not measured): TrainWith.ThresholdAtFPR is the lowest score with FP
	// at most MaxFPR there, the add_header these scores support.
	TrainWith *evalstats.Report `json:"train_with_network,omitempty"`
	Train     nn.Report         `json:"training"`
	Samples   int               `json:"training_samples"`
	Inputs    int               `json:"inputs"`
	Hidden    int               `json:"hidden"`
	// Network is the network trained on the train list's out-of-sample
	// verdicts (leave-one-out or out of fold).
	Network *nn.Network `json:"-"`
}

// RunNeural measures the neural post-classifier. The network must learn
// from verdicts on messages Bayes did not learn from, as in service. With
// Folds 0 (leave-one-out) one statfile learns the whole train list, and
// each train message is scanned as if it had not been learned
// (LeaveOneOut): exactly the verdict of statistics built from the other
// N-1 messages, as strong as the statfile that then scans the test list.
// With Folds k >= 2 the train list is cut into k folds and each fold is
// scanned by a statfile that learned the others: verdicts of statistics
// built from (k-1)/k of the data, weaker than the final statfile's, so
// the network learns corrections the final statistics no longer need
// and thresholds chosen on them are too cautious (on the public corpus's
// train split, 4 folds rank at (1-AUC)% 0.051-0.065 where the final
// statfile ranks the test split at 0.012). Either way the network trains
// on one input vector per train message, and the test list is scored
// without and with its symbol. The network trains as the learner's does
// (nn.Train's defaults: the Bayes score as its offset, an average of
// nn.DefaultMembers networks, nn.DefaultHamCost), so these figures are
// the ones a site's live-trained network earns on verdicts like these.
// nn.Train scales the network's log-odds by the factor that ranks its
// own held-out samples best with SpamWeight (Report.Shrink).
func RunNeural(ctx context.Context, opts Options, nopts NeuralOptions, train, test []Message) (*NeuralResult, error) {
	var (
		names    []string
		samples  []nn.Sample
		testVs   []*scan.Verdict
		trainVs  []*scan.Verdict
		trainSet []Message
	)
	switch {
	case nopts.Folds == 0:
		var err error
		if trainVs, testVs, names, err = LOOVerdicts(ctx, opts, train, test); err != nil {
			return nil, err
		}
		trainSet = train
	case nopts.Folds >= 2:
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
			trainVs, trainSet = append(trainVs, vs...), append(trainSet, scanSet...)
		}
	default:
		return nil, fmt.Errorf("eval: %d folds: need 0 (leave-one-out) or at least 2", nopts.Folds)
	}
	for i, v := range trainVs {
		if v != nil {
			samples = append(samples, nn.Sample{X: v.Inputs, Spam: trainSet[i].Spam})
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
	if testVs == nil {
		vs, _, err := opts.learnThenScan(ctx, "all.statfile", train, test)
		if err != nil {
			return nil, err
		}
		testVs = vs
	}
	var without, with []evalstats.Sample
	x := make([]float32, 0, len(names))
	for i, v := range testVs {
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

// LOOVerdicts learns train into one fresh statfile and scans every
// train message leave-one-out (LeaveOneOut) and every test message as it
// is, with input vectors kept; it returns both lists of verdicts (nil for
// a message that failed to scan) and the input names.
func LOOVerdicts(ctx context.Context, opts Options, train, test []Message) (trainVs, testVs []*scan.Verdict, names []string, err error) {
	w, l, err := opts.statfile("loo.statfile")
	if err != nil {
		return nil, nil, nil, err
	}
	defer w.Close()
	held, err := opts.learnEach(ctx, l, train)
	if err != nil {
		return nil, nil, nil, err
	}
	s := scan.New(w, opts.Scan)
	if trainVs, err = LeaveOneOut(ctx, opts, s, train, held); err != nil {
		return nil, nil, nil, err
	}
	if testVs, err = opts.scanAll(ctx, s, test); err != nil {
		return nil, nil, nil, err
	}
	return trainVs, testVs, s.InputNames(), nil
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
	out, err := o.scanAll(ctx, s, scanSet)
	return out, s, err
}

// scanAll scans msgs with input vectors kept; a message that fails to
// scan has a nil verdict.
func (o *Options) scanAll(ctx context.Context, s *scan.Scanner, msgs []Message) ([]*scan.Verdict, error) {
	out := make([]*scan.Verdict, len(msgs))
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, err := s.Scan(ctx, bytes.NewReader(m.Data), scan.Request{KeepInputs: true})
		if err != nil {
			o.warn(fmt.Errorf("scan %s: %w", m.Path, err))
			continue
		}
		out[i] = v
	}
	return out, nil
}

// learnEach learns msgs in order and reports which of them the
// statistics hold (learned now or before as the same content); a message
// that fails is reported and is not held.
func (o *Options) learnEach(ctx context.Context, l *learn.Learner, msgs []Message) ([]bool, error) {
	held := make([]bool, len(msgs))
	for i := range msgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := &msgs[i]
		if _, err := l.Learn(bytes.NewReader(m.Data), m.Label(), ""); err != nil {
			o.warn(fmt.Errorf("learn %s: %w", m.Path, err))
			continue
		}
		held[i] = true
	}
	return held, nil
}

// LeaveOneOut scans each of msgs, which s's statistics learned in this
// order (held[i]: message i was learned), as if it had not been learned
// (scan.Request.LeaveOut), with input vectors kept: the verdict of
// statistics built from all the other messages, as strong as the final
// statfile's, for one scan each. The learn cache learns a content once,
// so a message whose content is in the list more than once is no longer
// the only learn of it: statistics without it still hold the content,
// and it is scanned as it is. Only a content learned as both classes,
// left out at its last learn (the statistics without it would hold the
// earlier class), gets the approximation of its own learn taken out.
// A message that fails to scan has a nil verdict.
func LeaveOneOut(ctx context.Context, opts Options, s *scan.Scanner, msgs []Message, held []bool) ([]*scan.Verdict, error) {
	out := make([]*scan.Verdict, len(msgs))
	type content struct {
		n, last int
		mixed   bool // learned as both classes
	}
	seen := make(map[[32]byte]*content)
	for i := range msgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := &msgs[i]
		req := scan.Request{KeepInputs: true}
		if held[i] {
			req.LeaveOut = mmapstore.Class(m.Label())
		}
		v, err := s.Scan(ctx, bytes.NewReader(m.Data), req)
		if err != nil {
			opts.warn(fmt.Errorf("scan %s: %w", m.Path, err))
			continue
		}
		out[i] = v
		if !held[i] {
			continue
		}
		c := seen[v.Digest]
		if c == nil {
			c = &content{last: i}
			seen[v.Digest] = c
		}
		c.mixed = c.mixed || msgs[c.last].Spam != m.Spam
		c.n++
		c.last = i
	}
	for i, v := range out {
		if v == nil || !held[i] {
			continue
		}
		if c := seen[v.Digest]; c.n > 1 && (!c.mixed || i != c.last) {
			w, err := s.Scan(ctx, bytes.NewReader(msgs[i].Data), scan.Request{KeepInputs: true})
			if err != nil {
				opts.warn(fmt.Errorf("scan %s: %w", msgs[i].Path, err))
				out[i] = nil
				continue
			}
			out[i] = w
		}
	}
	return out, nil
}

func indexOf(names []string, name string) (int, bool) {
	for i, n := range names {
		if n == name {
			return i, true
		}
	}
	return 0, false
}
