// Package eval measures the classifier as `sluice eval` reports it: a
// fresh, private statfile learns a train list, the scanner classifies a
// test list (in one batch, or by the TREC online protocol: classify each
// test message, then learn its true label by a training policy), and
// package evalstats turns the scores into figures. RunNeural measures the
// neural post-classifier: it trains a network on leave-one-out verdicts
// of the train list (or out-of-fold ones), as in service, and scores the
// test list without and with it.
//
// The private statfiles are the one place besides the learner where a
// statfile is opened for writing: they are throwaway files in a directory
// the caller gives, unsynced (durability is not what is measured), that
// nothing else reads.
package eval

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluicemail/sluice/evalstats"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
)

// Message is one line of a list: its true class, its path and its bytes.
type Message struct {
	Spam bool
	Path string
	Data []byte
}

// Label is the learn label of m's true class.
func (m *Message) Label() learn.Label {
	if m.Spam {
		return learn.Spam
	}
	return learn.Ham
}

// ClassName is "spam" or "ham".
func ClassName(spam bool) string {
	if spam {
		return "spam"
	}
	return "ham"
}

// ReadList reads a list file, lines "spam|ham<TAB>path" (blank lines and
// #comments skipped), and the messages it names. Relative paths are
// relative to the list's directory.
func ReadList(path string) ([]Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Message
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
		out = append(out, Message{Spam: class == "spam", Path: p, Data: data})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ReadScores reads another filter's scores, lines "spam|ham<TAB>...<TAB>
// score" (other lines, such as a header, are skipped); name is for errors.
// ReadScoresFile reads another filter's scores from the file at path (see
// ReadScores).
func ReadScoresFile(path string) ([]evalstats.Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadScores(f, path)
}

func ReadScores(r io.Reader, name string) ([]evalstats.Sample, error) {
	var samples []evalstats.Sample
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		if len(fields) < 2 || (fields[0] != "spam" && fields[0] != "ham") {
			continue // header or comment
		}
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		samples = append(samples, evalstats.Sample{Spam: fields[0] == "spam", Score: v})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return samples, nil
}

// Options configure a run.
type Options struct {
	// Dir holds the private statfiles; the caller makes and removes it.
	Dir string
	// Writer configures the private statfiles (eval turns fsync and the
	// size limit off).
	Writer mmapstore.Options
	Learn  learn.Options
	Scan   scan.Options
	// Warn is told of a message that fails to learn or scan (nil: not).
	Warn func(error)
}

func (o *Options) warn(err error) {
	if o.Warn != nil {
		o.Warn(err)
	}
}

// statfile creates a private statfile in o.Dir.
func (o *Options) statfile(name string) (*mmapstore.Writer, *learn.Learner, error) {
	wopts := o.Writer
	wopts.NoSync = true // durability is not measured here
	wopts.MaxBytes = 0
	w, err := mmapstore.OpenWriter(filepath.Join(o.Dir, name), &wopts)
	if err != nil {
		return nil, nil, fmt.Errorf("eval: %w", err)
	}
	return w, learn.New(w, o.Learn), nil
}

// learnAll learns msgs; a message that fails is reported and skipped.
func (o *Options) learnAll(ctx context.Context, l *learn.Learner, msgs []Message) error {
	for i := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := &msgs[i]
		if _, err := l.Learn(bytes.NewReader(m.Data), m.Label(), ""); err != nil {
			o.warn(fmt.Errorf("learn %s: %w", m.Path, err))
		}
	}
	return nil
}

// Scored is a test message and its verdict.
type Scored struct {
	Message *Message
	Verdict *scan.Verdict
}

// Result is what Run measured.
type Result struct {
	Samples []evalstats.Sample // one per scored test message, in order
	Scored  []Scored           // the same messages with their verdicts
	// Learned is how many test messages the online protocol learned.
	Learned int
	// Seconds spent learning the train list, scanning, and learning
	// online.
	LearnSeconds, ScanSeconds, OnlineLearnSeconds float64
}

// Policies of the online protocol: which test messages are learned after
// their classification.
const (
	TrainAll   = "all"   // every one
	TrainError = "error" // the misclassified ones
	TrainNear  = "near"  // the misclassified ones and near misses
)

// Run learns train into a fresh statfile and classifies test; with
// online, each test message is learned after its classification when
// policy says so.
func Run(ctx context.Context, opts Options, train, test []Message, online bool, policy string) (*Result, error) {
	w, l, err := opts.statfile("eval.statfile")
	if err != nil {
		return nil, err
	}
	defer w.Close()
	s := scan.New(w, opts.Scan)
	res := &Result{Samples: make([]evalstats.Sample, 0, len(test))}
	start := time.Now()
	if err := opts.learnAll(ctx, l, train); err != nil {
		return nil, err
	}
	res.LearnSeconds = time.Since(start).Seconds()
	for i := range test {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := &test[i]
		t0 := time.Now()
		v, err := s.Scan(ctx, bytes.NewReader(m.Data), scan.Request{})
		res.ScanSeconds += time.Since(t0).Seconds()
		if err != nil {
			opts.warn(fmt.Errorf("scan %s: %w", m.Path, err))
			continue
		}
		res.Samples = append(res.Samples, evalstats.Sample{Spam: m.Spam, Score: v.Score})
		res.Scored = append(res.Scored, Scored{m, v})
		if online && ShouldTrain(policy, m.Spam, v) {
			t1 := time.Now()
			if _, err := l.Learn(bytes.NewReader(m.Data), m.Label(), ""); err == nil {
				res.Learned++
			}
			res.OnlineLearnSeconds += time.Since(t1).Seconds()
		}
	}
	return res, nil
}

// ShouldTrain applies the online training policy to a verdict on a
// message whose true class is spam or not.
func ShouldTrain(policy string, spam bool, v *scan.Verdict) bool {
	calledSpam := v.Action != scan.NoAction
	switch policy {
	case TrainAll:
		return true
	case TrainNear:
		// A near miss: right, but Bayes was not confident.
		if spam && v.Prob < 0.99 || !spam && v.Prob > 0.01 {
			return true
		}
	}
	return calledSpam != spam
}
