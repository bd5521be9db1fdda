package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMiltertest runs the Lua scripts in testdata with miltertest (the
// libmilter test driver) against a running `sluice milter`.
func TestMiltertest(t *testing.T) {
	require(t, "miltertest")
	s := newSluice(t)
	s.learnCorpus(30)
	s.start()
	dir, _ := filepath.Abs("testdata")
	for _, script := range []string{"headers", "reject", "auth"} {
		t.Run(script, func(t *testing.T) {
			cmd := exec.Command("miltertest", "-v",
				"-D", fmt.Sprintf("addr=inet:%d@127.0.0.1", s.port),
				"-D", "dir="+dir,
				"-D", "reject_text="+rejectText,
				"-s", filepath.Join(dir, script+".lua"))
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("miltertest hung\n%s", out)
			}
			if err != nil || !strings.Contains(string(out), script+": ok") {
				t.Fatalf("miltertest %s: %v\n%s\nmilter log:\n%s", script, err, out, s.logText())
			}
		})
	}
}
