package e2e

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeWalkthrough runs README.md's "From a fresh machine to a
// filtered message" as written: `sluice serve` with its embedded defaults
// in a fresh directory (its milter on a free port instead of 7357, which
// other tests may hold), then step 1's commands verbatim in that directory
// with a HOME whose Maildir has a Junk folder, and step 2's postconf
// lines against a private Postfix configuration directory (`-c DIR`
// added; `postfix reload` left out: no system Postfix runs here).
func TestReadmeWalkthrough(t *testing.T) {
	require(t, "postconf")
	blocks := readmeBlocks(t, "### From a fresh machine to a filtered message")
	if len(blocks) < 2 {
		t.Fatalf("README's walk-through has %d sh blocks, want 2", len(blocks))
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	for _, c := range []struct {
		folder, class string
		pool          []string
	}{{"Maildir/.Junk/cur", "spam", spamWords}, {"Maildir/cur", "ham", hamWords}} {
		d := filepath.Join(home, c.folder)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for i := range 12 {
			m := mail(fmt.Sprintf("readme-%s-%d", c.class, i), i, c.class, c.pool, 0)
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%d.host:2,S", i)), []byte(m), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "some-message.eml"), []byte(mail("readme-probe", 99, "probe", spamWords, 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(sluiceBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sluice"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+home, "SLUICE_CONFIG=") // the embedded defaults, whatever /etc holds

	// "With sluice serve running".
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	serve := exec.Command("./sluice", "serve", "--listen", fmt.Sprintf("inet:127.0.0.1:%d", freePort(t)), "--spamd-listen", "off", "--http", "off")
	serve.Dir, serve.Env, serve.Stdout, serve.Stderr = dir, env, logf, logf
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait(); logf.Close() }()
	t.Cleanup(func() {
		serve.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			serve.Process.Kill()
			<-exited
		}
	})
	serveLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(serveLog(), "milter listening"); {
		select {
		case err := <-exited:
			t.Fatalf("sluice serve exited: %v\n%s", err, serveLog())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice serve not ready:\n%s", serveLog())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Step 1, line by line as written.
	var outs []string
	for _, line := range blocks[0] {
		cmd := exec.Command("sh", "-c", line)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README: %s: %v\n%s\nserve log:\n%s", line, err, out, serveLog())
		}
		outs = append(outs, string(out))
	}
	all := strings.Join(outs, "\n")
	for _, want := range []string{"spam: 12 learned", "ham: 12 learned", "(via learner", "spam 12, ham 12", "some-message.eml"} {
		if !strings.Contains(all, want) {
			t.Errorf("README step 1's output lacks %q:\n%s", want, all)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sluice-data", "bayes.statfile")); err != nil {
		t.Errorf("the statfile is not in ./sluice-data: %v", err)
	}

	// Step 2: postconf against a private configuration directory.
	pdir := t.TempDir()
	for _, f := range []string{"main.cf", "master.cf"} {
		if err := os.WriteFile(filepath.Join(pdir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := strings.Join(blocks[1], "\n")
	script = strings.ReplaceAll(script, "postconf -e", "postconf -c '"+pdir+"' -e")
	script = strings.ReplaceAll(script, "postfix reload", "")
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README step 2: %v\n%s", err, out)
	}
	out, err := exec.Command("postconf", "-c", pdir, "-h", "smtpd_milters", "non_smtpd_milters", "milter_default_action").CombinedOutput()
	if err != nil || string(out) != "inet:127.0.0.1:7357\n$smtpd_milters\naccept\n" {
		t.Errorf("postconf after README step 2: %v\n%s", err, out)
	}
}

// readmeBlocks returns the sh blocks of README.md's section titled
// heading (up to the next heading of any level), each as its logical
// lines: comments dropped, backslash continuations joined.
func readmeBlocks(t *testing.T, heading string) [][]string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q", heading)
	}
	text = text[i+len(heading):]
	if j := strings.Index(text, "\n#"); j >= 0 {
		text = text[:j]
	}
	var blocks [][]string
	var cur []string
	in, cont := false, ""
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case !in && line == "```sh":
			in, cur = true, nil
		case in && line == "```":
			in = false
			blocks = append(blocks, cur)
		case in:
			if k := strings.Index(line, " #"); k >= 0 {
				line = strings.TrimSpace(line[:k])
			}
			if strings.HasSuffix(line, "\\") {
				cont += strings.TrimSuffix(line, "\\") + " "
				continue
			}
			if line = cont + line; line != "" {
				cur = append(cur, line)
			}
			cont = ""
		}
	}
	return blocks
}
