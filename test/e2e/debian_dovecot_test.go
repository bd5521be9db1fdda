package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianDovecotConf is Dovecot as Debian 12 sets it up for system users:
// userdb passwd (the IMAP process runs as the user's own account),
// passwords from a file (the test cannot know a system password), IMAP on
// a loopback port, and contrib/dovecot's conf file included as shipped.
const debianDovecotConf = `protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run/dovecot
state_dir = %[1]s/var/lib/dovecot
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:%[1]s/mail/%%u
first_valid_uid = 100
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/etc/dovecot/passwd
}
userdb {
  driver = passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
namespace inbox {
  inbox = yes
  mailbox Junk {
    auto = create
  }
  mailbox Trash {
    auto = create
  }
}
!include %[1]s/etc/dovecot/conf.d/90-sluice-imapsieve.conf
`

// installDovecotContrib runs the shell commands of contrib/dovecot/README.md's
// step 2 as written, from contrib/dovecot, with the paths moved below
// e.root, sievec pointed at the test's dovecot.conf (-c) and systemctl
// left out; then, as the README says to, sets SLUICE= in the installed
// scripts to the binary under test.
func (e *debianEnv) installDovecotContrib(confPath string) {
	e.t.Helper()
	readme := readContrib(e.t, e.root, "dovecot/README.md")
	i := strings.Index(readme, "2. Dovecot")
	if i < 0 {
		e.t.Fatal("contrib/dovecot/README.md has no step 2. Dovecot")
	}
	block := readme[i:]
	start := strings.Index(block, "```sh\n")
	end := strings.Index(block[start+6:], "```")
	if start < 0 || end < 0 {
		e.t.Fatal("contrib/dovecot/README.md step 2 has no sh block")
	}
	// Debian's dovecot-core has it.
	if err := os.MkdirAll(e.path("/etc/dovecot/conf.d"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	var ran int
	for _, line := range strings.Split(block[start+6:start+6+end], "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "systemctl ") {
			continue
		}
		if strings.HasPrefix(line, "sievec ") {
			line = "sievec -c " + confPath + line[len("sievec"):]
		}
		cmd := exec.Command("sh", "-ec", line)
		cmd.Dir = filepath.Join("..", "..", "contrib", "dovecot")
		if out, err := cmd.CombinedOutput(); err != nil {
			e.t.Fatalf("contrib/dovecot/README.md: %s: %v\n%s", line, err, out)
		}
		ran++
	}
	if ran < 5 {
		e.t.Fatalf("contrib/dovecot/README.md step 2 ran only %d commands", ran)
	}
	// The files were copied as shipped: move their own paths below the
	// root too (the compiled .svbin and the .sieve files have none and stay
	// untouched, or Dovecot would want to recompile them).
	for _, f := range []string{"conf.d/90-sluice-imapsieve.conf", "sieve/sluice-learn-spam.sh", "sieve/sluice-learn-ham.sh"} {
		p := e.path("/etc/dovecot/" + f)
		b, err := os.ReadFile(p)
		if err != nil {
			e.t.Fatal(err)
		}
		fi, _ := os.Stat(p)
		if err := os.WriteFile(p, []byte(absPath.ReplaceAllString(string(b), "${1}"+e.root+"/${2}/")), fi.Mode().Perm()); err != nil {
			e.t.Fatal(err)
		}
	}
	sieveDir := e.path("/etc/dovecot/sieve")
	for _, f := range []string{"sluice-learn-spam.sh", "sluice-learn-ham.sh"} {
		p := filepath.Join(sieveDir, f)
		b, err := os.ReadFile(p)
		if err != nil {
			e.t.Fatal(err)
		}
		if !strings.Contains(string(b), "SLUICE=/usr/local/bin/sluice\n") {
			e.t.Fatalf("contrib/dovecot/%s does not set SLUICE=/usr/local/bin/sluice", f)
		}
		if !strings.Contains(string(b), "CONFIG="+e.config+"\n") {
			e.t.Fatalf("contrib/dovecot/%s does not set CONFIG=/etc/sluice/sluice.toml", f)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "SLUICE=/usr/local/bin/sluice", "SLUICE="+sluiceBin, 1)), 0o755); err != nil {
			e.t.Fatal(err)
		}
	}
}

// startDovecot runs Dovecot in the foreground until the test ends.
func startDovecot(t *testing.T, confPath, logPath string) {
	t.Helper()
	cmd := exec.Command("dovecot", "-F", "-c", confPath)
	out, err := os.Create(logPath + ".out")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); out.Close() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("dovecot did not stop on SIGTERM")
		}
	})
}

// TestDebianDovecot: Dovecot with system users and contrib/dovecot as
// shipped; the learner runs as sluice.service's learner would
// (sluice-learner.service: user sluice, group sluice-learn). A MOVE into
// Junk by an ordinary user, whose only way in is the sluice-learn group
// Dovecot gives its mail processes, is learned into the configured
// statfile; with the learner stopped the moves are spooled and learned
// when it starts; none is lost, and nothing is written anywhere else.
func TestDebianDovecot(t *testing.T) {
	require(t, "dovecot", "sievec")
	mailUser := lookupUser(t, "sluice-e2e-mail")
	lookupGID(t, "sluice-learn")
	e := newDebianEnv(t, nil, `learner.spool_interval = "1s"`, `learner.shutdown_timeout = "5s"`, "statfile.initial_slots = 1024")
	confPath := e.path("/etc/dovecot/dovecot.conf")
	port := freePort(t)
	os.MkdirAll(filepath.Dir(confPath), 0o755)
	if err := os.WriteFile(confPath, []byte(fmt.Sprintf(debianDovecotConf, e.root, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.installDovecotContrib(confPath)
	os.WriteFile(e.path("/etc/dovecot/passwd"), []byte(mailUser.Username+":{PLAIN}secret::::::\n"), 0o644)
	for _, d := range []string{"/run/dovecot", "/var/lib/dovecot", "/mail"} {
		os.MkdirAll(e.path(d), 0o755)
	}
	os.Chmod(e.path("/mail"), 0o1777)
	logPath := filepath.Join(e.root, "dovecot.log")
	dovecotLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }

	learner := e.start("sluice-learner.service", nil, logLine("learner listening"), "learner")
	startDovecot(t, confPath, logPath)
	waitPort(t, port)
	ic, err := dialIMAP(fmt.Sprintf("127.0.0.1:%d", port), mailUser.Username, "secret")
	if err != nil {
		t.Fatalf("%v\n%s", err, dovecotLog())
	}
	defer ic.close()
	expect := func(step string, spam, ham uint64) {
		t.Helper()
		if s, h := e.totals(); s != spam || h != ham {
			t.Fatalf("%s: the statfile has spam %d ham %d, want %d and %d\ndovecot log:\n%s\nlearner log:\n%s", step, s, h, spam, ham, dovecotLog(), learner.logText())
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\ndovecot log:\n%s", err, dovecotLog())
		}
	}
	moveToJunk := func(id string, seed int) {
		t.Helper()
		must(ic.append("INBOX", mail(id, seed, "cheap offer "+id, spamWords, 0)))
		_, err := ic.cmd("SELECT INBOX")
		must(err)
		_, err = ic.cmd("MOVE * Junk") // the one just appended: the last
		must(err)
	}

	expect("start", 0, 0)
	moveToJunk("deb-1", 11)
	expect("moved into Junk with the learner running", 1, 0)

	learner.stop()
	spool := e.path("/var/lib/sluice/spool")
	moveToJunk("deb-2", 12)
	moveToJunk("deb-3", 13)
	must(ic.move("Junk", 1, "INBOX")) // deb-1 back out: unlearn spam, learn ham
	queued, _ := filepath.Glob(filepath.Join(spool, "*"))
	expect("three moves with the learner stopped (queued, not learned)", 1, 0)
	if len(queued) < 3 {
		t.Errorf("with the learner stopped, the spool holds %d files, want 3: %v\ndovecot log:\n%s", len(queued), queued, dovecotLog())
	}

	learner = e.start("sluice-learner.service", nil, logLine("learner listening"), "learner")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s, h := e.totals(); s == 2 && h == 1 {
			break
		}
		if time.Now().After(deadline) {
			expect("the learner drained the spool after its start", 2, 1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if left, _ := filepath.Glob(filepath.Join(spool, "*")); len(left) != 0 {
		var names []string
		for _, l := range left {
			if fi, err := os.Stat(l); err == nil && !fi.IsDir() {
				names = append(names, l)
			}
		}
		if len(names) != 0 {
			t.Errorf("the spool still holds %v after the learner drained it", names)
		}
	}
	moveToJunk("deb-4", 14)
	expect("a move after the learner restarted", 3, 1)

	// Nothing the mail user wrote anywhere but the spool: no stray data
	// directory, no statfile of its own.
	muid, _ := ids(mailUser)
	filepath.Walk(e.root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || strings.HasPrefix(p, e.path("/mail")) || strings.HasPrefix(p, spool) {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == muid {
			t.Errorf("the mail user wrote %s", p)
		}
		if fi.Name() == "sluice-data" || (strings.HasSuffix(fi.Name(), ".statfile") && filepath.Dir(p) != e.path("/var/lib/sluice")) {
			t.Errorf("stray %s", p)
		}
		return nil
	})
	if strings.Contains(dovecotLog(), "failed") || strings.Contains(dovecotLog(), "non-zero exit") {
		t.Errorf("Dovecot logged a failure:\n%s", dovecotLog())
	}
}
