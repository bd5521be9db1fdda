package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/feed"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/tokenizer"
)

// TestStatAccuracyFromLearner: `sluice stat` reads the accuracy as users
// see it from a running learner: a message flagged on arrival and learned
// as ham is one false positive, one let through and learned as spam one
// false negative. Without a learner the section is left out.
func TestStatAccuracyFromLearner(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "sluice.toml")
	sock := filepath.Join(dir, "feed.sock")
	if err := os.WriteFile(conf, []byte("[milter]\nfeed_socket = \""+sock+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flagged := "From: boss@example.org\r\nTo: bob@example.org\r\nSubject: budget\r\nMessage-ID: <1@x>\r\n\r\nthe budget for thursday\r\n"
	missed := "From: win@example.net\r\nTo: bob@example.org\r\nSubject: prize\r\nMessage-ID: <2@x>\r\n\r\nyou won a casino prize\r\n"
	if code, _, errs := sluice(t, sample(t), "learn", "--config", conf, "--data-dir", dir, "spam"); code != 0 {
		t.Fatalf("learn: exit %d: %s", code, errs)
	}
	if code, out, errs := sluice(t, "", "stat", "--config", conf, "--data-dir", dir); code != 0 || strings.Contains(out, "accuracy") || errs != "" {
		t.Fatalf("stat without a learner: exit %d\n%s\n%s", code, out, errs)
	}

	startLearner(t, dir, "--config", conf)
	snd, err := feed.NewSender(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	tok := tokenizer.New(learnstack.LearnOptions(defaultConfig(t)).Tokenizer)
	for _, r := range []struct{ msg, action string }{{flagged, "add header"}, {missed, "no action"}} {
		res, err := tok.Tokenize(strings.NewReader(r.msg))
		if err != nil {
			t.Fatal(err)
		}
		if err := snd.Send(&feed.Record{Time: time.Now(), Action: r.action, Digest: res.Digest, Frontend: "milter"}); err != nil {
			t.Fatal(err)
		}
	}
	// The records are datagrams: wait until the learner counts both.
	var out string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out, "scanned 2,"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the learner did not count the scan records:\n%s", out)
		}
		_, out, _ = sluice(t, "", "stat", "--config", conf, "--data-dir", dir)
	}
	for _, l := range []struct{ class, msg string }{{"ham", flagged}, {"spam", missed}} {
		if code, _, errs := sluice(t, l.msg, "learn", "--config", conf, "--data-dir", dir, l.class); code != 0 {
			t.Fatalf("learn %s: exit %d: %s", l.class, code, errs)
		}
	}
	code, out, errs := sluice(t, "", "stat", "--config", conf, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "accuracy as users see it") ||
		!strings.Contains(out, "scanned 2, corrected 2: 1 false positives (50.00%), 1 false negatives (50.00%), 0 confirmed") {
		t.Fatalf("stat: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = sluice(t, "", "stat", "--json", "--config", conf, "--data-dir", dir)
	var st struct {
		Accuracy []struct {
			Day                          string
			Scanned, Corrections, FP, FN uint64
			FPRate                       float64 `json:"fp_rate"`
		}
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || len(st.Accuracy) != 1 {
		t.Fatalf("stat --json: exit %d, %v\n%s\n%s", code, err, out, errs)
	}
	if a := st.Accuracy[0]; !validDay(a.Day) || a.Scanned != 2 || a.Corrections != 2 || a.FP != 1 || a.FN != 1 || a.FPRate != 0.5 {
		t.Fatalf("stat --json accuracy %+v\n%s", a, out)
	}
}

func validDay(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}
