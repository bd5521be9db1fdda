package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sluice runs one command line in-process and returns its exit code and output.
func sluice(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func sample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/sample.eml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	msg := sample(t)
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		inOut string // expected in stdout+stderr
	}{
		{"no command", "", nil, exitUsage, "usage:"},
		{"unknown command", "", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"help", "", []string{"help"}, 0, "learn"},
		{"command help", "", []string{"learn", "--help"}, 0, "-user"},
		{"bad flag", "", []string{"scan", "--no-such-flag"}, exitUsage, "flag provided but not defined"},
		{"bad class", msg, []string{"learn", "--data-dir", dir, "maybe"}, exitUsage, "not spam, ham or forget"},
		{"learn not a message", "hello, this is not mail\n", []string{"learn", "--data-dir", dir, "spam"}, exitDataErr, "not a mail message"},
		{"learn", msg, []string{"learn", "--data-dir", dir, "spam"}, 0, "1 learned"},
		{"learn again", msg, []string{"learn", "--data-dir", dir, "spam"}, 0, "1 already learned"},
		{"relearn", msg, []string{"learn", "--data-dir", dir, "ham"}, 0, "1 relearned"},
		{"scan not a message", "nothing\n", []string{"scan", "--data-dir", dir}, exitDataErr, "not a mail message"},
		{"fsck", "", []string{"fsck", "--data-dir", dir}, 0, ": ok"},
		{"stat", "", []string{"stat", "--data-dir", dir}, 0, "spam 0, ham 1"},
		{"missing config", "", []string{"stat", "--config", filepath.Join(dir, "nope.toml")}, 78, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := sluice(t, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(out+errs, tt.inOut) {
				t.Fatalf("exit %d, want %d; output %q / %q, want it to contain %q", code, tt.code, out, errs, tt.inOut)
			}
		})
	}
}

func TestFsckCorrupt(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := sluice(t, sample(t), "learn", "--data-dir", dir, "spam"); code != 0 {
		t.Fatalf("learn: exit %d: %s", code, errs)
	}
	path := filepath.Join(dir, "bayes.statfile")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[9] ^= 0xff // inside the checksummed header
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := sluice(t, "", "fsck", "--data-dir", dir)
	if code != exitCorrupt || errs == "" {
		t.Fatalf("fsck of a corrupt file: exit %d, stderr %q", code, errs)
	}
}

func TestScanJSONAndExplain(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := sluice(t, sample(t), "scan", "--data-dir", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var v struct {
		Path   string  `json:"path"`
		Action string  `json:"action"`
		Score  float64 `json:"score"`
		Silent string  `json:"bayes_silent"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if v.Path != "-" || v.Action != "no action" || v.Silent == "" {
		t.Fatalf("unexpected verdict before any learning: %+v", v)
	}
	code, out, _ = sluice(t, sample(t), "scan", "--data-dir", dir, "--explain")
	if code != 0 || !strings.Contains(out, "bayes silent:") {
		t.Fatalf("explain: exit %d: %q", code, out)
	}
}

func TestLearnMboxAndDirectory(t *testing.T) {
	dir, in := t.TempDir(), t.TempDir()
	var mbox strings.Builder
	for _, w := range []string{"apples", "pears", "plums"} {
		fmt.Fprintf(&mbox, "From sender@example.org Mon Jan  1 00:00:00 2024\nFrom: s@example.org\nSubject: about %s\n\nbody text about %s here\n\n", w, w)
	}
	if err := os.WriteFile(filepath.Join(in, "box.mbox"), []byte(mbox.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(in, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "sub", "one.eml"), []byte(sample(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := sluice(t, "", "learn", "--data-dir", dir, "--json", "--recursive", "spam", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s learnSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.Learned != 4 {
		t.Fatalf("summary %+v (%v), want 4 learned: 3 from the mbox, 1 from the directory", s, err)
	}
}

// writeEvalLists writes n separable spam and n ham messages (every fourth
// pair in the test list) and their train.list and test.list into dir.
func writeEvalLists(t *testing.T, dir string, n int) {
	t.Helper()
	var train, test strings.Builder
	vocab := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango")
	for i := 0; i < n; i++ {
		tag := vocab[i%20] + " " + vocab[i/20%20] // distinct bodies: numbers fold
		for _, c := range []struct{ class, words string }{
			{"spam", "cheap pills casino winner claim your prize now free money offer"},
			{"ham", "the build broke again after the merge of the release branch on thursday"},
		} {
			name := fmt.Sprintf("%s%d.eml", c.class, i)
			m := fmt.Sprintf("From: x%d@example.org\nSubject: %s %s\n\n%s %s\n", i, c.class, tag, c.words, tag)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(m), 0o600); err != nil {
				t.Fatal(err)
			}
			list := &train
			if i%4 == 0 {
				list = &test
			}
			fmt.Fprintf(list, "%s\t%s\n", c.class, name)
		}
	}
	for name, s := range map[string]string{"train.list": train.String(), "test.list": test.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEval(t *testing.T) {
	dir := t.TempDir()
	writeEvalLists(t, dir, 40)
	roc := filepath.Join(dir, "roc.png")
	code, out, errs := sluice(t, "", "eval", "--train", filepath.Join(dir, "train.list"), "--test", filepath.Join(dir, "test.list"), "--plot", roc, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Accuracy float64 `json:"accuracy"`
		N        int     `json:"n"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.N != 20 || r.Accuracy != 1 {
		t.Fatalf("eval on a trivially separable set: %s", out)
	}
	if fi, err := os.Stat(roc); err != nil || fi.Size() < 1000 {
		t.Fatalf("no ROC plot: %v", err)
	}
	code, _, _ = sluice(t, "", "eval", "--train", filepath.Join(dir, "train.list"), "--test", filepath.Join(dir, "test.list"), "--online", "--policy", "near")
	if code != 0 {
		t.Fatalf("online eval: exit %d", code)
	}
}
