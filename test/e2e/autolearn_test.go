package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPostfixAutolearn: Postfix with `sluice serve` as its milter and
// autolearn on. A message Bayes finds spammy but is not yet sure of is
// autolearned from its scan record (the statfile changes), and the milter
// scores the same text higher next time without a restart.
func TestPostfixAutolearn(t *testing.T) {
	require(t, "postfix", "swaks")
	milterPort := freePort(t)
	// swaks connects from 127.0.0.1: the milter marks that mail local,
	// which autolearn skips unless autolearn_local is set.
	e := newLearnerEnv(t, `autolearn = true
spam_score = 1.0
ham_score = -100.0
min_prob = 0.99
autolearn_local = true
[classifier]
# Textbook Robinson smoothing: mixed messages get middling probabilities
# (the defaults make Bayes decisive or leave it near 0.5).
robinson_s = 1.0
min_prob_strength = 0.05
min_token_hits = 2
[actions]
add_header = 6
reject = 100
[milter]
listen = "inet:127.0.0.1:`+strconv.Itoa(milterPort)+`"
shutdown_timeout = "5s"
`)
	// Train: 30 spam and 30 ham.
	for _, c := range []struct {
		class string
		pool  []string
	}{{"spam", spamWords}, {"ham", hamWords}} {
		dir := filepath.Join(e.dir, "corpus-"+c.class)
		os.MkdirAll(dir, 0o755)
		for i := 0; i < 30; i++ {
			os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte(mail(fmt.Sprintf("al-%s-%d", c.class, i), i, c.class, c.pool, 0)), 0o644)
		}
		e.run("learn", c.class, dir)
	}
	// A message of mostly spam words with some ham words: spammy, but
	// Bayes is below min_prob (here 99%), which stops autolearn.
	var msgBody string
	var prob float64
	for k := 1; k <= 8 && msgBody == ""; k++ {
		body := mixed(k)
		p := filepath.Join(e.dir, fmt.Sprintf("probe-%d.eml", k))
		os.WriteFile(p, []byte(autoMsg("probe", body)), 0o644)
		var v struct {
			Score float64 `json:"score"`
			Prob  float64 `json:"bayes_prob"`
		}
		out := e.run("scan", "--json", p)
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("scan --json: %v\n%s", err, out)
		}
		t.Logf("mix %d: score %.2f, Bayes %.3f", k, v.Score, v.Prob)
		if v.Prob > 0.6 && v.Prob < 0.99 && v.Score >= 1 {
			msgBody, prob = body, v.Prob
		}
	}
	if msgBody == "" {
		t.Fatal("no mix of spam and ham words scores between the autolearn guards")
	}
	spam0, ham0 := e.totals()

	d := e.start("serve", "milter listening", "--spamd-listen", "off", "--http", "off")
	p := startPostfix(t, milterPort)
	if out, ok := p.send(autoMsg("auto-1", msgBody)); !ok {
		t.Fatalf("swaks: %s", out)
	}
	first := header(p.delivered("auto-1"), "X-Spam-Score")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if s, h := e.totals(); s == spam0+1 && h == ham0 {
			break
		}
		if time.Now().After(deadline) {
			s, h := e.totals()
			t.Fatalf("not autolearned: spam %d ham %d (before %d %d)\n%s", s, h, spam0, ham0, d.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, ok := p.send(autoMsg("auto-2", msgBody)); !ok {
		t.Fatalf("swaks: %s", out)
	}
	second := header(p.delivered("auto-2"), "X-Spam-Score")
	f1, _ := strconv.ParseFloat(first, 64)
	f2, _ := strconv.ParseFloat(second, 64)
	if f2 <= f1 {
		t.Fatalf("the same text scored %s before and %s after it was autolearned: the milter did not see the new counts", first, second)
	}
	if s, _ := e.totals(); s != spam0+1 {
		t.Fatalf("the second copy was learned again: spam %d", s)
	}
	d.stop()
	if out, err := exec.Command(sluiceBin, "fsck", "--config", e.config).CombinedOutput(); err != nil {
		t.Fatalf("fsck: %v\n%s", err, out)
	}
	t.Logf("Bayes %.2f: autolearned as spam from the scan record; X-Spam-Score %s before, %s after, without a restart", prob, first, second)
}

// mixed is a body of spam words with one ham word in every k+1.
func mixed(k int) string {
	var words []string
	for i := 0; i < 60; i++ {
		if i%(k+1) == k {
			words = append(words, hamWords[i%len(hamWords)])
		} else {
			words = append(words, spamWords[(i*5)%len(spamWords)])
		}
	}
	return strings.Join(words, " ")
}

func autoMsg(id, body string) string {
	return fmt.Sprintf("From: sender@example.org\r\nTo: user@sluice-e2e.test\r\nSubject: an offer\r\nMessage-ID: <%s@example.org>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n%s\r\n", id, body)
}
