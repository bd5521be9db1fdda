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

// eximConf is a private Exim: its own spool, log and mailbox below dir, a
// daemon on 127.0.0.1:port running as EXIMUSER (exim_user: root, or
// Debian-exim as Debian runs it) that delivers as DELIVERUSER into one mbox. MAIN and ACL are the contrib/exim files.
const eximConf = `exim_path = EXIM
exim_user = EXIMUSER
exim_group = EXIMUSER
keep_environment =
tls_advertise_hosts =
primary_hostname = sluice-e2e.test
qualify_domain = sluice-e2e.test
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
pid_file_path = DIR/exim.pid
daemon_smtp_ports = PORT
local_interfaces = 127.0.0.1
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_data = acl_check_data
MAIN
begin acl
acl_check_rcpt:
  accept
acl_check_data:
ACL
  accept
begin routers
all:
  driver = accept
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = DIR/mail/mbox
  user = DELIVERUSER
`

// contrib reads a contrib/exim file with Sluice's port and reject score
// replaced: the test's instance listens elsewhere and rejects from 7.
func contrib(t *testing.T, name string, port int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "contrib", "exim", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "127.0.0.1 11333", fmt.Sprintf("127.0.0.1 %d", port))
	return strings.ReplaceAll(s, "SLUICE_REJECT_INT = 150", "SLUICE_REJECT_INT = 70")
}

// startExim runs the daemon in the foreground until the test ends.
func startExim(t *testing.T, exim, variant string, sluicePort int) (dir string, port int) {
	t.Helper()
	return startEximWith(t, exim, "root", contrib(t, "main-"+variant+".conf", sluicePort), contrib(t, "acl-"+variant+".conf", sluicePort))
}

// startEximWith runs Exim as user (its exim_user and exim_group) with the
// given main-section and DATA ACL lines.
func startEximWith(t *testing.T, exim, user, main, acl string) (dir string, port int) {
	t.Helper()
	// Exim delivers as nobody: the directory must be reachable by it.
	dir, err := os.MkdirTemp("", "sluice-exim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"spool", "log", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "mail"), 0o777)
	if user != "root" {
		u := lookupUser(t, user)
		uid, gid := ids(u)
		for _, d := range []string{"spool", "log"} {
			os.Chown(filepath.Join(dir, d), uid, gid)
		}
	}
	// Exim run with -C gives up root: it can deliver only as exim_user
	// then (root keeps it and delivers as nobody).
	deliver := "nobody"
	if user != "root" {
		deliver = user
	}
	port = freePort(t)
	conf := strings.NewReplacer("EXIMUSER", user, "DELIVERUSER", deliver, "EXIM", exim, "DIR", dir, "PORT", fmt.Sprint(port),
		"MAIN", main, "ACL", acl).Replace(eximConf)
	confPath := filepath.Join(dir, "exim.conf")
	// Exim refuses a configuration file that others may write.
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(exim, "-C", confPath, "-bV").CombinedOutput(); err != nil {
		t.Fatalf("exim -bV: %v\n%s\n%s", err, out, conf)
	}
	cmd := exec.Command(exim, "-C", confPath, "-bdf", "-oX", fmt.Sprint(port))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "log", "*"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, b)
			}
			t.Logf("exim output:\n%s", out.String())
		}
	})
	waitPort(t, port)
	return dir, port
}

// swaks sends one message and returns the transcript.
func swaks(t *testing.T, swaksBin string, port int, msg string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(f, []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(swaksBin, "--server", fmt.Sprintf("127.0.0.1:%d", port), "--from", "sender@example.org",
		"--to", "bob@sluice-e2e.test", "--helo", "client.example", "--data", f, "--timeout", "30").CombinedOutput()
	return string(out)
}

// waitMbox polls path until it contains every one of subs.
func waitMbox(t *testing.T, path string, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		ok := len(b) > 0
		for _, s := range subs {
			ok = ok && strings.Contains(string(b), s)
		}
		if ok {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never contained %q; it holds:\n%s", path, subs, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestExim: a real Exim with spamd_address pointing at Sluice, once per
// variant. The ham is delivered with headers built from $spam_score (and
// $spam_action); the spam is refused by the ACL's reject rule.
func TestExim(t *testing.T) {
	require(t)
	exim := tool(t, "SLUICE_EXIM", "exim4")
	swaksBin := tool(t, "SLUICE_SWAKS", "swaks")
	spamc := tool(t, "SLUICE_SPAMC", "spamc")
	s := startSpamd(t)
	learnWithSpamc(t, spamc, s, 12)
	for _, v := range []struct {
		variant string
		headers []string
	}{
		// Exim's $spam_score (one decimal) of a ham: negative, at least 4
		// points (the unclipped Bayes score is about -20).
		{"spamd", []string{"X-Spam-Score: -", "X-Spam-Bar: ----"}},
		{"rspamd", []string{"X-Spam-Score: -", "X-Spam-Bar: ----", "X-Spam-Action: no action"}},
	} {
		t.Run(v.variant, func(t *testing.T) {
			dir, port := startExim(t, exim, v.variant, s.port)
			// Forged fields from outside: the contrib ACLs remove them.
			ham := mail("exim-ham-"+v.variant, 2001, "exim ham", hamWords, 0, "X-Spam-Flag: YES", "X-Spam-Score: -99 forged")
			if out := swaks(t, swaksBin, port, ham); !strings.Contains(out, "<-  250 OK id=") {
				t.Fatalf("ham not accepted:\n%s", out)
			}
			got := waitMbox(t, filepath.Join(dir, "mail", "mbox"), append([]string{"exim-ham-" + v.variant}, v.headers...)...)
			if strings.Contains(got, "X-Spam-Flag: YES") || strings.Contains(got, "forged") {
				t.Errorf("ham flagged as spam, or a forged field kept:\n%s", got)
			}
			spam := mail("exim-spam-"+v.variant, 2002, "exim spam", spamWords, 0)
			out := swaks(t, swaksBin, port, spam)
			if !strings.Contains(out, "<** 550 Rejected as spam (score ") {
				t.Fatalf("spam not rejected by the ACL:\n%s\nsluice log:\n%s", out, s.logText())
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "mail", "mbox")); strings.Contains(string(b), "exim-spam-") {
				t.Errorf("the rejected spam was delivered")
			}
		})
	}
}
