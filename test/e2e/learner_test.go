package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRspamcLearner: rspamc learns through the learner's rspamd-compatible
// HTTP endpoint (200 success, 208 already learned: both exit 0), and a
// password, when set, is required. The password comes from
// learner.password_file, as README advises (sluice.toml stays readable by
// the mail user; the secret does not).
func TestRspamcLearner(t *testing.T) {
	require(t)
	rspamc := tool(t, "SLUICE_RSPAMC", "rspamc")
	pwFile := filepath.Join(t.TempDir(), "learner.password")
	if err := os.WriteFile(pwFile, []byte("e2e-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newLearnerEnv(t, fmt.Sprintf("password_file = %q\n", pwFile))
	e.start("learner", "learner listening")
	h := fmt.Sprintf("127.0.0.1:%d", e.httpPort)
	m := mail("rspamc-learner-1", 3, "cheap offer", spamWords, 0)
	if out, code := client(t, m, rspamc, "-h", h, "learn_spam"); code == 0 && strings.Contains(out, "success = true") {
		t.Fatalf("rspamc without the password learned: %s", out)
	}
	if s, _ := e.totals(); s != 0 {
		t.Fatalf("a refused request was learned: spam %d", s)
	}
	if out, code := client(t, m, rspamc, "-h", h, "-P", "e2e-secret", "learn_spam"); code != 0 || !strings.Contains(out, "success = true") {
		t.Fatalf("rspamc learn_spam: exit %d: %s", code, out)
	}
	if out, code := client(t, m, rspamc, "-h", h, "-P", "e2e-secret", "learn_spam"); code != 0 || !strings.Contains(out, "already learned") {
		t.Fatalf("rspamc learn_spam again: exit %d: %s", code, out)
	}
	if out, code := client(t, m, rspamc, "-h", h, "-P", "e2e-secret", "learn_ham"); code != 0 || !strings.Contains(out, "success = true") {
		t.Fatalf("rspamc learn_ham: exit %d: %s", code, out)
	}
	if s, hm := e.totals(); s != 0 || hm != 1 {
		t.Fatalf("after learn_spam, again, learn_ham: spam %d ham %d, want 0 and 1", s, hm)
	}
}

// TestLearnerCrash: the learner is killed with SIGKILL in the middle of a
// bulk learn from HTTP clients and `sluice learn` processes. After a
// restart every acknowledged learn is counted and sluice fsck passes.
func TestLearnerCrash(t *testing.T) {
	require(t)
	e := newLearnerEnv(t, "password = \"e2e-crash\"\n") // learning over HTTP needs it
	d := e.start("learner", "learner listening")
	url := fmt.Sprintf("http://127.0.0.1:%d/learnspam", e.httpPort)

	var acked, attempted, cliAcked atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	var id atomic.Int64
	msg := func() string {
		n := id.Add(1)
		return fmt.Sprintf("From: bulk@example.org\r\nSubject: crash %d\r\nMessage-ID: <crash-%d@example.org>\r\n\r\nbulk words w%d v%d u%d crash test\r\n", n, n, n, n*3, n*7)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	for range 16 {
		wg.Go(func() {
			for !stop.Load() {
				attempted.Add(1)
				req, err := http.NewRequest("POST", url, bytes.NewReader([]byte(msg())))
				if err != nil {
					continue
				}
				req.Header.Set("Password", "e2e-crash")
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					acked.Add(1)
				}
			}
		})
	}
	// sluice learn clients: after the kill they fall back to writing the
	// statfile themselves, or to the spool; exit 0 is an acknowledgement.
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				attempted.Add(1)
				cmd := exec.Command(sluiceBin, "learn", "--config", e.config, "--source", "crash", "spam")
				cmd.Stdin = strings.NewReader(msg())
				if cmd.Run() == nil {
					cliAcked.Add(1)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	atKill := acked.Load() + cliAcked.Load()
	d.kill()
	time.Sleep(300 * time.Millisecond) // clients see the learner gone
	stop.Store(true)
	wg.Wait()
	total := acked.Load() + cliAcked.Load()

	e.run("fsck") // replays nothing: only a writer replays; check the files as the crash left them
	d2 := e.start("learner", "learner listening")
	deadline := time.Now().Add(15 * time.Second)
	var spam uint64
	for {
		spam, _ = e.totals()
		if spam >= uint64(total) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the spool drains
	}
	d2.stop()
	out := e.run("fsck")
	t.Logf("crash test: %d learns attempted, %d acknowledged before SIGKILL, %d acknowledged in all (%d over HTTP, %d by sluice learn, incl. direct and spooled after the kill); after restart the statfile counts %d spam; fsck: %s",
		attempted.Load(), atKill, total, acked.Load(), cliAcked.Load(), spam, strings.TrimSpace(out))
	if spam < uint64(total) {
		t.Fatalf("%d acknowledged learns, but only %d counted after the restart\n%s", total, spam, d2.logText())
	}
	if spam > uint64(attempted.Load()) {
		t.Fatalf("%d counted, more than the %d attempted", spam, attempted.Load())
	}
	if total < 100 {
		t.Fatalf("only %d learns acknowledged: the load did not run", total)
	}
}
