package eval

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/evalstats"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/tokenizer"
)

// corpus is n trivially separable spam and ham messages.
func corpus(n int) []Message {
	vocab := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango")
	var out []Message
	for i := range n {
		tag := vocab[i%20] + " " + vocab[i/20%20]
		for _, c := range []struct {
			spam  bool
			words string
		}{
			{true, "cheap pills casino winner claim your prize now free money offer"},
			{false, "the build broke again after the merge of the release branch on thursday"},
		} {
			m := fmt.Sprintf("From: x%d@example.org\nSubject: %s %s\n\n%s %s\n", i, ClassName(c.spam), tag, c.words, tag)
			out = append(out, Message{Spam: c.spam, Path: fmt.Sprintf("%s%d", ClassName(c.spam), i), Data: []byte(m)})
		}
	}
	return out
}

func testOptions(t *testing.T) Options {
	p := tokenizer.New(tokenizer.Options{}).Params()
	return Options{
		Dir:    t.TempDir(),
		Writer: mmapstore.Options{Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}, InitialSlots: 1 << 12},
		Scan:   scan.Options{Bayes: bayes.DefaultConfig(), Actions: scan.Thresholds{AddHeader: 6, Reject: 15}},
		Warn:   func(err error) { t.Log(err) },
	}
}

func TestRun(t *testing.T) {
	msgs := corpus(40)
	train, test := msgs[:60], msgs[60:]
	test = append(test, Message{Spam: true, Path: "garbage", Data: []byte{0}})
	tests := []struct {
		name        string
		online      bool
		policy      string
		wantLearned int
	}{
		{"batch", false, "", 0},
		{"online, every message", true, TrainAll, 20},
		{"online, errors only", true, TrainError, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), testOptions(t), train, test, tt.online, tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Samples) != len(res.Scored) || len(res.Samples) < 20 {
				t.Fatalf("%d samples, %d scored", len(res.Samples), len(res.Scored))
			}
			rep := evalstats.Compute(res.Samples, 6, 0.001)
			if rep.Accuracy < 0.95 {
				t.Fatalf("accuracy on a separable set: %+v", rep)
			}
			if res.Learned != tt.wantLearned {
				t.Fatalf("learned %d online, want %d", res.Learned, tt.wantLearned)
			}
		})
	}
}

func TestRunNeuralFolds(t *testing.T) {
	for _, folds := range []int{1, -1} {
		if _, err := RunNeural(context.Background(), testOptions(t), NeuralOptions{Folds: folds}, corpus(2), corpus(1)); err == nil {
			t.Fatalf("%d folds accepted", folds)
		}
	}
	// Leave-one-out (0) and 3 folds both train on one verdict per train
	// message and score every test message.
	for _, folds := range []int{0, 3} {
		res, err := RunNeural(context.Background(), testOptions(t), NeuralOptions{Folds: folds, Seed: 1, Hidden: 4, Threshold: 6, MaxFPR: 0.001}, corpus(30), corpus(40)[60:])
		if err != nil {
			t.Fatal(err)
		}
		if res.Samples != 60 || res.With.N != 20 || res.Without.N != 20 || res.TrainWith == nil || res.TrainWith.N != 60 {
			t.Fatalf("%d folds: %d samples, %d/%d test, train with %+v", folds, res.Samples, res.With.N, res.Without.N, res.TrainWith)
		}
	}
}

func TestShouldTrain(t *testing.T) {
	tests := []struct {
		policy string
		spam   bool
		v      scan.Verdict
		want   bool
	}{
		{TrainAll, true, scan.Verdict{Action: scan.AddHeader, Prob: 1}, true},
		{TrainError, true, scan.Verdict{Action: scan.AddHeader, Prob: 1}, false},
		{TrainError, true, scan.Verdict{Action: scan.NoAction, Prob: 1}, true},
		{TrainError, false, scan.Verdict{Action: scan.Reject, Prob: 0}, true},
		{TrainNear, true, scan.Verdict{Action: scan.AddHeader, Prob: 0.9}, true},
		{TrainNear, true, scan.Verdict{Action: scan.AddHeader, Prob: 0.999}, false},
		{TrainNear, false, scan.Verdict{Action: scan.NoAction, Prob: 0.5}, true},
	}
	for _, tt := range tests {
		if got := ShouldTrain(tt.policy, tt.spam, &tt.v); got != tt.want {
			t.Errorf("ShouldTrain(%s, spam %v, %+v) = %v", tt.policy, tt.spam, tt.v, got)
		}
	}
}

func TestReadList(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.eml"), []byte("Subject: a\n\na\n"), 0o600)
	tests := []struct {
		name, list string
		want       int
		wantErr    bool
	}{
		{"good", "# comment\n\nspam\ta.eml\nham\t" + filepath.Join(dir, "a.eml") + "\n", 2, false},
		{"bad class", "junk\ta.eml\n", 0, true},
		{"no tab", "spam a.eml\n", 0, true},
		{"missing file", "ham\tmissing.eml\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "list")
			os.WriteFile(path, []byte(tt.list), 0o600)
			got, err := ReadList(path)
			if (err != nil) != tt.wantErr || len(got) != tt.want {
				t.Fatalf("%d messages, error %v", len(got), err)
			}
			if len(got) > 0 && (!got[0].Spam || got[0].Path != filepath.Join(dir, "a.eml") || string(got[0].Data) != "Subject: a\n\na\n") {
				t.Fatalf("first message %+v", got[0])
			}
		})
	}
}

func TestReadScores(t *testing.T) {
	got, err := ReadScores(strings.NewReader("class\tpath\tscore\nspam\tx\t7.5\nham\ty\t-1\n"), "scores")
	if err != nil || len(got) != 2 || !got[0].Spam || got[0].Score != 7.5 || got[1].Spam || got[1].Score != -1 {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := ReadScores(strings.NewReader("spam\tx\tmany\n"), "scores"); err == nil || !strings.Contains(err.Error(), "scores:1") {
		t.Fatalf("bad score: %v", err)
	}
}
