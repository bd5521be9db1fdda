package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/evalstats"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
)

// maxFPR is the false-positive cap of the "FN rate at FP rate <= 0.1%" figure.
const maxFPR = 0.001

// labelled is one line of a LIST file: a class and a message path.
type labelled struct {
	spam bool
	path string
	data []byte
}

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
	withNN := fs.Bool("nn", false, "also train the neural network (on out-of-fold verdicts of the train list) and report the test figures without and with it")
	nnFolds := fs.Int("nn-folds", 5, "folds of the train list for --nn")
	nnSeed := fs.Uint64("nn-seed", 1, "training seed for --nn")
	threshold := fs.Float64("threshold", math.NaN(), "score from which a message counts as spam (default: the add_header score; 0.5 with --report)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *report != "" {
		t := *threshold
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
	var train, test []labelled
	if *trainList != "" {
		if train, err = readList(*trainList); err != nil {
			return err
		}
	}
	if test, err = readList(*testList); err != nil {
		return err
	}
	if *withNN {
		return evalNeural(ctx, std, cfg, train, test, *nnFolds, *nnSeed, c.json)
	}

	dir, err := os.MkdirTemp("", "sluice-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w, l, err := evalStatfile(std, cfg, filepath.Join(dir, "eval.statfile"))
	if err != nil {
		return err
	}
	defer w.Close()
	s := scan.New(w, scanOptions(cfg))

	start := time.Now()
	for _, m := range train {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := l.Learn(bytes.NewReader(m.data), labelOf(m.spam), ""); err != nil {
			fmt.Fprintf(std.err, "sluice eval: learn %s: %v\n", m.path, err)
		}
	}
	learnSecs := time.Since(start).Seconds()

	samples := make([]evalstats.Sample, 0, len(test))
	var scoreLines []string
	var scanSecs, onlineLearnSecs float64
	learned := 0
	for _, m := range test {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		v, err := s.Scan(ctx, bytes.NewReader(m.data), scan.Request{})
		scanSecs += time.Since(t0).Seconds()
		if err != nil {
			fmt.Fprintf(std.err, "sluice eval: scan %s: %v\n", m.path, err)
			continue
		}
		samples = append(samples, evalstats.Sample{Spam: m.spam, Score: v.Score, Tiebreak: rankKey(v)})
		scoreLines = append(scoreLines, fmt.Sprintf("%s\t%s\t%.4f\t%.6f\t%.3f\t%s", label(m.spam), m.path, v.Score, v.Prob, v.Evidence, v.Action))
		if *online && shouldTrain(*policy, m.spam, v) {
			t1 := time.Now()
			if _, err := l.Learn(bytes.NewReader(m.data), labelOf(m.spam), ""); err == nil {
				learned++
			}
			onlineLearnSecs += time.Since(t1).Seconds()
		}
	}
	t := *threshold
	if math.IsNaN(t) {
		t = cfg.Actions.AddHeader
	}
	rep := evalstats.Compute(samples, t, maxFPR)
	if *scoresOut != "" {
		body := "class\tpath\tscore\tbayes_prob\tbayes_evidence\taction\n" + strings.Join(scoreLines, "\n") + "\n"
		if err := os.WriteFile(*scoresOut, []byte(body), 0o644); err != nil {
			return err
		}
	}
	if *plot != "" {
		if err := writeROC(*plot, samples); err != nil {
			return err
		}
	}
	speeds := evalSpeeds{
		LearnPerSec: rate(len(train), learnSecs),
		ScanPerSec:  rate(len(samples), scanSecs),
	}
	if *online {
		speeds.OnlineLearned = learned
		speeds.OnlineLearnPerSec = rate(learned, onlineLearnSecs)
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
		fmt.Fprintf(std.out, "online (%s): learned %d of %d test messages\n", *policy, learned, len(test))
	}
	return nil
}

type evalSpeeds struct {
	LearnPerSec       float64 `json:"learn_per_sec"`
	ScanPerSec        float64 `json:"scan_per_sec"`
	OnlineLearned     int     `json:"online_learned,omitempty"`
	OnlineLearnPerSec float64 `json:"online_learn_per_sec,omitempty"`
}

// rankKey orders verdicts of equal total score for the ROC figures: by the
// Bayes probability, and where that saturates, by the Bayes evidence.
func rankKey(v *scan.Verdict) float64 {
	return v.Prob + 1e-9*math.Tanh(v.Evidence/1000)
}

// shouldTrain applies the online training policy.
func shouldTrain(policy string, spam bool, v *scan.Verdict) bool {
	calledSpam := v.Action != scan.NoAction
	switch policy {
	case "all":
		return true
	case "near":
		// A near miss: right, but Bayes was not confident.
		if spam && v.Prob < 0.99 || !spam && v.Prob > 0.01 {
			return true
		}
	}
	return calledSpam != spam
}

// evalStatfile creates eval's private, throwaway statfile at path: the
// one statfile eval writes, without the learner (nothing else reads it).
func evalStatfile(std *stdio, cfg config.Config, path string) (*mmapstore.Writer, *learn.Learner, error) {
	quiet := cfg
	quiet.Log.Level = "warn" // growth of the throwaway statfile is not news
	wopts := writerOptions(cfg, newLogger(quiet, std.err))
	wopts.NoSync = true // durability is not measured here
	wopts.MaxBytes = 0
	w, err := mmapstore.OpenWriter(path, wopts)
	if err != nil {
		return nil, nil, err
	}
	return w, learn.New(w, learnOptions(cfg)), nil
}

func labelOf(spam bool) learn.Label {
	if spam {
		return learn.Spam
	}
	return learn.Ham
}

func label(spam bool) string {
	if spam {
		return "spam"
	}
	return "ham"
}

func rate(n int, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// readList reads a LIST file and the messages it names. Relative paths are
// relative to the list's directory.
func readList(path string) ([]labelled, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		class, p, ok := strings.Cut(line, "\t")
		if !ok || (class != "spam" && class != "ham") {
			return nil, fmt.Errorf("%s:%d: want spam|ham<TAB>path", path, n)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, labelled{spam: class == "spam", path: p, data: data})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// evalReport computes the figures from another filter's scores.
func evalReport(std *stdio, path string, threshold float64, asJSON bool, plot string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var samples []evalstats.Sample
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		if len(fields) < 2 || (fields[0] != "spam" && fields[0] != "ham") {
			continue // header or comment
		}
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		samples = append(samples, evalstats.Sample{Spam: fields[0] == "spam", Score: v})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	rep := evalstats.Compute(samples, threshold, maxFPR)
	if plot != "" {
		if err := writeROC(plot, samples); err != nil {
			return err
		}
	}
	if asJSON {
		return writeJSON(std.out, rep)
	}
	fmt.Fprint(std.out, rep.String())
	return nil
}

// writeROC draws the ROC curve of samples into a PNG file.
func writeROC(path string, samples []evalstats.Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := evalstats.PlotROC(f, samples, maxFPR); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
