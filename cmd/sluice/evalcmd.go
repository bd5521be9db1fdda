package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/eval"
	"github.com/sluicemail/sluice/evalstats"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/scanstack"
)

// maxFPR is the false-positive cap of the "FN rate at FP rate <= 0.1%" figure.
const maxFPR = 0.001

// cmdEval learns a fresh statfile in a temporary directory from the train
// list, classifies the test list and prints accuracy figures and speeds.
// With --online it runs the TREC protocol: each test message in order is
// classified, then learned with its true label per --policy.
func cmdEval(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("eval", "--train LIST --test LIST", std, true)
	trainList := fs.String("train", "", "`LIST` of messages to learn: lines spam|ham<TAB>path")
	testList := fs.String("test", "", "`LIST` of messages to classify: lines spam|ham<TAB>path")
	scoresOut := fs.String("scores", "", "write per-message scores to this TSV `file`")
	plot := fs.String("plot", "", "draw the ROC curve into this PNG `file`")
	online := fs.Bool("online", false, "TREC online protocol: classify each test message, then learn its true label")
	policy := fs.String("policy", "error", "online training policy: all, error, or near (error or near miss)")
	report := fs.String("report", "", "only compute the figures from a `TSV` of spam|ham<TAB>score lines (e.g. another filter's)")
	withNN := fs.Bool("nn", false, "also train the neural network (on leave-one-out verdicts of the train list) and report the test figures without and with it")
	nnFolds := fs.Int("nn-folds", 0, "with --nn, train on out-of-fold verdicts of this many folds of the train list instead (0: leave-one-out)")
	nnSeed := fs.Uint64("nn-seed", 1, "training seed for --nn")
	nnSave := fs.String("nn-save", "", "with --nn, save the trained network to this `file` (e.g. DATA_DIR/neural.nn, where scanners load it)")
	threshold := &optionalFloat{v: math.NaN()}
	fs.Var(threshold, "threshold", "`score` from which a message counts as spam (default: the add_header score; 0.5 with --report)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *report != "" {
		t := threshold.v
		if math.IsNaN(t) {
			t = 0.5
		}
		return evalReport(std, *report, t, c.json, *plot)
	}
	if *testList == "" || (*trainList == "" && !*online) {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	switch *policy {
	case "all", "error", "near":
	default:
		return &exitError{code: exitUsage, err: fmt.Errorf("--policy %q is not all, error or near", *policy)}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	var train, test []eval.Message
	if *trainList != "" {
		if train, err = eval.ReadList(*trainList); err != nil {
			return err
		}
	}
	if test, err = eval.ReadList(*testList); err != nil {
		return err
	}
	if *withNN {
		return evalNeural(ctx, std, cfg, train, test, *nnFolds, *nnSeed, *nnSave, c.json)
	}

	dir, err := os.MkdirTemp("", "sluice-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	res, err := eval.Run(ctx, evalOptions(std, cfg, dir), train, test, *online, *policy)
	if err != nil {
		return err
	}
	samples := res.Samples
	t := threshold.v
	if math.IsNaN(t) {
		t = cfg.Actions.AddHeader
	}
	rep := evalstats.Compute(samples, t, maxFPR)
	if *scoresOut != "" {
		var body strings.Builder
		body.WriteString("class\tpath\tscore\tbayes_prob\tbayes_evidence\taction\n")
		for _, sc := range res.Scored {
			v := sc.Verdict
			fmt.Fprintf(&body, "%s\t%s\t%.4f\t%.6f\t%.3f\t%s\n", eval.ClassName(sc.Message.Spam), sc.Message.Path, v.Score, v.Prob, v.Evidence, v.Action)
		}
		if err := os.WriteFile(*scoresOut, []byte(body.String()), 0o644); err != nil {
			return err
		}
	}
	if *plot != "" {
		if err := evalstats.WritePlotROC(*plot, samples, maxFPR); err != nil {
			return err
		}
	}
	speeds := evalSpeeds{
		LearnPerSec: rate(len(train), res.LearnSeconds),
		ScanPerSec:  rate(len(samples), res.ScanSeconds),
	}
	if *online {
		speeds.OnlineLearned = res.Learned
		speeds.OnlineLearnPerSec = rate(res.Learned, res.OnlineLearnSeconds)
	}
	if c.json {
		return writeJSON(std.out, struct {
			evalstats.Report
			evalSpeeds
		}{rep, speeds})
	}
	fmt.Fprint(std.out, rep.String())
	fmt.Fprintf(std.out, "learn: %d messages, %.0f msg/s; scan: %d messages, %.0f msg/s\n", len(train), speeds.LearnPerSec, len(samples), speeds.ScanPerSec)
	if *online {
		fmt.Fprintf(std.out, "online (%s): learned %d of %d test messages\n", *policy, res.Learned, len(test))
	}
	return nil
}

type evalSpeeds struct {
	LearnPerSec       float64 `json:"learn_per_sec"`
	ScanPerSec        float64 `json:"scan_per_sec"`
	OnlineLearned     int     `json:"online_learned,omitempty"`
	OnlineLearnPerSec float64 `json:"online_learn_per_sec,omitempty"`
}

func rate(n int, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// evalReport computes the figures from another filter's scores.
func evalReport(std *stdio, path string, threshold float64, asJSON bool, plot string) error {
	samples, err := eval.ReadScoresFile(path)
	if err != nil {
		return err
	}
	rep := evalstats.Compute(samples, threshold, maxFPR)
	if plot != "" {
		if err := evalstats.WritePlotROC(plot, samples, maxFPR); err != nil {
			return err
		}
	}
	if asJSON {
		return writeJSON(std.out, rep)
	}
	fmt.Fprint(std.out, rep.String())
	return nil
}

// evalOptions are eval's options from the configuration: private
// statfiles in dir, warnings on stderr.
func evalOptions(std *stdio, cfg config.Config, dir string) eval.Options {
	quiet := cfg
	quiet.Log.Level = "warn" // growth of the throwaway statfiles is not news
	return eval.Options{
		Dir: dir, Writer: *learnstack.WriterOptions(cfg, newLogger(quiet, std.err)), Learn: learnstack.LearnOptions(cfg), Scan: scanstack.Options(cfg),
		Warn: func(err error) { fmt.Fprintf(std.err, "sluice eval: %v\n", err) },
	}
}
