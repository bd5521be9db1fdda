package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dovecotConf is a private Dovecot: loopback IMAP only, passwd-file auth,
// maildirs in the test's directory, mail user nobody, and contrib/dovecot's
// imapsieve configuration included with its paths moved.
const dovecotConf = `protocols = imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:%[1]s/mail/%%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[2]s gid=%[3]s home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[4]d
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
!include %[1]s/90-sluice-imapsieve.conf
`

// TestDovecotImapsieve: a real Dovecot with contrib/dovecot's imapsieve
// scripts; an IMAP client moves a message into Junk (one more spam), a
// second copy into Junk (counted once), one back to INBOX (the spam
// unlearned, a ham learned) and the other from Junk to Trash (no ham).
func TestDovecotImapsieve(t *testing.T) {
	require(t, "dovecot", "sievec")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	group, err := user.LookupGroupId(nobody.Gid)
	if err != nil {
		t.Fatal(err)
	}
	e := newLearnerEnv(t, fmt.Sprintf("socket_group = %q\n", group.Name))
	e.start("learner", "learner listening")

	dir := e.dir
	sieve := filepath.Join(dir, "sieve")
	for _, d := range []string{sieve, filepath.Join(dir, "run"), filepath.Join(dir, "state"), filepath.Join(dir, "mail")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "mail"), 0o777)
	contrib := "../../contrib/dovecot"
	conf, err := os.ReadFile(filepath.Join(contrib, "90-sluice-imapsieve.conf"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "90-sluice-imapsieve.conf"), []byte(strings.ReplaceAll(string(conf), "/etc/dovecot/sieve", sieve)), 0o644)
	os.WriteFile(filepath.Join(dir, "passwd"), []byte("alice@sluice-e2e.test:{PLAIN}secret::::::\n"), 0o644)
	port := freePort(t)
	confPath := filepath.Join(dir, "dovecot.conf")
	os.WriteFile(confPath, []byte(fmt.Sprintf(dovecotConf, dir, nobody.Uid, nobody.Gid, port)), 0o644)
	for _, f := range []string{"report-spam.sieve", "report-ham.sieve"} {
		b, err := os.ReadFile(filepath.Join(contrib, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(sieve, f), b, 0o644)
		if out, err := exec.Command("sievec", "-c", confPath, filepath.Join(sieve, f)).CombinedOutput(); err != nil {
			t.Fatalf("sievec %s: %v\n%s", f, err, out)
		}
	}
	for _, f := range []string{"sluice-learn-spam.sh", "sluice-learn-ham.sh"} {
		b, err := os.ReadFile(filepath.Join(contrib, f))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(b), "SLUICE=/usr/local/bin/sluice", "SLUICE="+sluiceBin, 1)
		s = strings.Replace(s, "CONFIG=/etc/sluice/sluice.toml", "CONFIG="+e.config, 1)
		os.WriteFile(filepath.Join(sieve, f), []byte(s), 0o755)
	}
	logPath := filepath.Join(dir, "dovecot.log")
	dovecotLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }

	cmd := exec.Command("dovecot", "-F", "-c", confPath)
	out, _ := os.Create(filepath.Join(dir, "dovecot.out"))
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
	waitPort(t, port)

	ic, err := dialIMAP(fmt.Sprintf("127.0.0.1:%d", port), "alice@sluice-e2e.test", "secret")
	if err != nil {
		t.Fatalf("%v\n%s", err, dovecotLog())
	}
	defer ic.close()
	m := mail("dovecot-1", 7, "cheap offer", spamWords, 0)
	expect := func(step string, spam, ham uint64) {
		t.Helper()
		if s, h := e.totals(); s != spam || h != ham {
			t.Fatalf("%s: learner has spam %d ham %d, want %d and %d\ndovecot log:\n%s", step, s, h, spam, ham, dovecotLog())
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%v\ndovecot log:\n%s", err, dovecotLog())
		}
	}
	expect("start", 0, 0)
	must(ic.append("INBOX", m))
	expect("append to INBOX (no learn)", 0, 0)
	start := time.Now()
	must(ic.move("INBOX", 1, "Junk"))
	moveTook := time.Since(start)
	expect("moved to Junk", 1, 0)
	must(ic.append("INBOX", m))
	must(ic.move("INBOX", 1, "Junk"))
	expect("the same message moved to Junk twice", 1, 0)
	must(ic.move("Junk", 1, "INBOX"))
	expect("moved back to INBOX", 0, 1)
	must(ic.move("Junk", 1, "Trash"))
	expect("Junk to Trash is not ham", 0, 1)
	if strings.Contains(dovecotLog(), "failed") || strings.Contains(dovecotLog(), "non-zero exit") {
		t.Errorf("Dovecot logged a failure:\n%s", dovecotLog())
	}
	t.Logf("a MOVE into Junk (sieve pipe to sluice learn through the learner) took %v", moveTook)
}
