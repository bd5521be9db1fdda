package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// postfix is a private Postfix instance: its own config directory, queue
// and log under a temporary directory, SMTP on a free loopback port, mail
// for sluice-e2e.test delivered into one maildir by virtual(8).
type postfix struct {
	t       *testing.T
	dir     string
	conf    string
	port    int
	maildir string
	logFile string
}

const masterCF = `%[1]d      inet  n       -       %[2]s       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       %[2]s       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

func startPostfix(t *testing.T, milterPort int) *postfix {
	t.Helper()
	return startPostfixWith(t, postfixOptions{milter: fmt.Sprintf("inet:127.0.0.1:%d", milterPort)})
}

// postfixOptions: how startPostfixWith differs from the plain instance.
type postfixOptions struct {
	milter string // smtpd_milters
	// chroot runs smtpd and cleanup chrooted in the queue directory, as
	// Debian's master.cf does.
	chroot bool
	// queueDir is the queue directory (default: spool below the
	// instance's directory); it must be below a directory Postfix's
	// users can traverse.
	queueDir string
}

func startPostfixWith(t *testing.T, o postfixOptions) *postfix {
	t.Helper()
	// Not t.TempDir: its parent is 0700, and Postfix's daemons (user
	// postfix, nobody for delivery) must reach the queue and the maildir.
	dir, err := os.MkdirTemp("", "sluice-e2e-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &postfix{t: t, dir: dir, port: freePort(t)}
	p.conf = filepath.Join(p.dir, "etc")
	p.maildir = filepath.Join(p.dir, "mail", "inbox")
	p.logFile = filepath.Join(p.dir, "maillog")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if o.queueDir == "" {
		o.queueDir = filepath.Join(p.dir, "spool")
	}
	for _, d := range []string{p.conf, filepath.Join(p.dir, "mail"), o.queueDir, filepath.Join(p.dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pf.Uid)
	os.Chown(filepath.Join(p.dir, "data"), uid, -1)
	os.Chmod(filepath.Join(p.dir, "mail"), 0o777)
	os.Chmod(p.dir, 0o755)
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[6]s
data_directory = %[1]s/data
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = %[2]s
maillog_file_prefixes = %[1]s
myhostname = mx.sluice-e2e.test
mydomain = sluice-e2e.test
myorigin = $myhostname
mydestination = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
smtputf8_enable = no
biff = no
virtual_mailbox_domains = sluice-e2e.test
virtual_mailbox_base = %[1]s/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:%[3]s
virtual_gid_maps = static:%[4]s
virtual_minimum_uid = 1
smtpd_milters = %[5]s
non_smtpd_milters = $smtpd_milters
milter_default_action = accept
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 30s
`, p.dir, p.logFile, nobody.Uid, nobody.Gid, o.milter, o.queueDir)
	chroot := "n"
	if o.chroot {
		chroot = "y"
	}
	if err := os.WriteFile(filepath.Join(p.conf, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.conf, "master.cf"), []byte(fmt.Sprintf(masterCF, p.port, chroot)), 0o644); err != nil {
		t.Fatal(err)
	}
	p.postfix("check")
	p.postfix("start")
	t.Cleanup(func() {
		out, err := exec.Command("postfix", "-c", p.conf, "stop").CombinedOutput()
		if err != nil {
			t.Errorf("postfix stop: %v\n%s", err, out)
		}
		// master waits for its children; make sure it is gone.
		for i := 0; i < 100 && exec.Command("postfix", "-c", p.conf, "status").Run() == nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	waitPort(t, p.port)
	return p
}

func (p *postfix) postfix(args ...string) {
	p.t.Helper()
	out, err := exec.Command("postfix", append([]string{"-c", p.conf}, args...)...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(p.logFile)
		p.t.Fatalf("postfix %s: %v\n%s\nmaillog:\n%s", strings.Join(args, " "), err, out, log)
	}
}

// send submits a message with swaks and returns swaks's transcript and
// whether the server accepted it.
func (p *postfix) send(msg string) (string, bool) {
	p.t.Helper()
	f := filepath.Join(p.dir, fmt.Sprintf("msg-%d.eml", time.Now().UnixNano()))
	if err := os.WriteFile(f, []byte(msg), 0o644); err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command("swaks", "--server", "127.0.0.1", "--port", fmt.Sprint(p.port), "--helo", "client.example",
		"--from", "sender@example.org", "--to", "user@sluice-e2e.test", "--data", "@"+f, "--timeout", "60")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errorsAs(err, &ee) {
		p.t.Fatalf("swaks: %v\n%s", err, out)
	}
	return string(out), err == nil
}

// delivered waits for the message with Message-ID id in the maildir and
// returns it.
func (p *postfix) delivered(id string) string {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(p.maildir, "new", "*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && strings.Contains(string(b), "Message-ID: <"+id+"@example.org>") {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(p.logFile)
			p.t.Fatalf("message %s not delivered\nmaillog:\n%s", id, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

// header returns the value of the first header field name in msg.
func header(msg, name string) string {
	head, _, _ := strings.Cut(strings.ReplaceAll(msg, "\r\n", "\n"), "\n\n")
	for _, line := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// twoDecimals is X-Spam-Score's form.
var twoDecimals = regexp.MustCompile(`^-?[0-9]+\.[0-9][0-9]$`)

// unfolded is the value of the first field called name, its continuation
// lines joined.
func unfolded(msg, name string) string {
	head, _, _ := strings.Cut(strings.ReplaceAll(msg, "\r\n", "\n"), "\n\n")
	lines := strings.Split(head, "\n")
	for i, line := range lines {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			for _, c := range lines[i+1:] {
				if c == "" || (c[0] != ' ' && c[0] != '\t') {
					break
				}
				v += c
			}
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestPostfix runs a real Postfix with smtpd_milters pointing at Sluice.
func TestPostfix(t *testing.T) {
	require(t, "postfix", "swaks")
	s := newSluice(t)
	s.learnCorpus(30)
	s.start()
	p := startPostfix(t, s.port)

	t.Run("spam is rejected with our reply", func(t *testing.T) {
		out, ok := p.send(mail("spam-1", 1, "cheap offer", spamWords, 0))
		if ok || !strings.Contains(out, "550 5.7.1 "+rejectText) {
			t.Fatalf("swaks accepted=%v:\n%s", ok, out)
		}
		if !waitFor(func() bool { return grepFile(p.logFile, "milter-reject: END-OF-MESSAGE", rejectText) }) {
			t.Fatal("no milter-reject in the Postfix log")
		}
	})
	t.Run("ham is delivered with our headers", func(t *testing.T) {
		out, ok := p.send(mail("ham-1", 1, "meeting minutes", hamWords, 0, "X-Spam-Flag: YES", "X-Spam-Status: Yes, spoofed",
			"X-Spam: Yes", "X-Spamd-Result: default: True [99.00 / 15.00]; spoofed"))
		if !ok {
			t.Fatalf("ham refused:\n%s", out)
		}
		m := p.delivered("ham-1")
		if !strings.HasPrefix(header(m, "X-Spam-Status"), "No, score=-") || !twoDecimals.MatchString(header(m, "X-Spam-Score")) ||
			header(m, "X-Spam-Bar") == "" || header(m, "X-Spam-Flag") != "" || header(m, "X-Spam") != "" || strings.Contains(m, "spoofed") {
			t.Fatalf("delivered ham:\n%s", m)
		}
		// [headers]: the milter's "\n"-folded fields arrive as folded
		// header lines, one symbol per line.
		if r := unfolded(m, "X-Spamd-Result"); !strings.HasPrefix(r, "default: False [-") || !strings.Contains(r, "; BAYES_HAM(-") ||
			!strings.Contains(m, "\n BAYES_HAM(-") || !strings.Contains(unfolded(m, "X-Spam-Report"), " BAYES_HAM Bayes spam probability is ") {
			t.Fatalf("X-Spamd-Result %q, X-Spam-Report %q in\n%s", r, unfolded(m, "X-Spam-Report"), m)
		}
	})
	t.Run("oversized message is delivered unscanned", func(t *testing.T) {
		out, ok := p.send(mail("big-1", 2, "big offer", spamWords, 100<<10))
		if !ok {
			t.Fatalf("big message refused:\n%s", out)
		}
		m := p.delivered("big-1")
		if got := header(m, "X-Spam-Status"); got != "No, skipped: message over 64KiB scan limit" || header(m, "X-Spam-Score") != "" {
			t.Fatalf("X-Spam-Status %q in\n%.2000s", got, m)
		}
	})
	t.Run("scanning goes on while the statfile is replaced", func(t *testing.T) {
		before := generation(t, s.run("stat"))
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.learnNoise(400, 1)
		}()
		sent := 0
		for learning := true; learning || sent < 3; sent++ {
			select {
			case <-done:
				learning = false
			default:
			}
			out, ok := p.send(mail(fmt.Sprintf("spam-r%d", sent), 3+sent, "cheap offer", spamWords, 0))
			if ok || !strings.Contains(out, rejectText) {
				t.Fatalf("spam %d during replacement: accepted=%v\n%s\nmilter log:\n%s", sent, ok, out, s.logText())
			}
		}
		if generation(t, s.run("stat")) == before {
			t.Fatalf("the statfile was not replaced (it should have grown):\n%s", s.run("stat"))
		}
		out, ok := p.send(mail("ham-r", 99, "meeting minutes", hamWords, 0))
		if !ok || !strings.HasPrefix(header(p.delivered("ham-r"), "X-Spam-Status"), "No, score=") {
			t.Fatalf("ham after replacement: %v\n%s", ok, out)
		}
		t.Logf("%d spam messages rejected while the statfile grew", sent)
	})
	t.Run("with Sluice stopped milter_default_action applies", func(t *testing.T) {
		s.stop()
		if !strings.Contains(s.logText(), "milter stopped") {
			t.Fatalf("milter did not log its counters at shutdown:\n%s", s.logText())
		}
		out, ok := p.send(mail("spam-down", 1, "cheap offer", spamWords, 0))
		if !ok {
			t.Fatalf("with the milter down and milter_default_action = accept, spam was refused:\n%s", out)
		}
		if m := p.delivered("spam-down"); header(m, "X-Spam-Status") != "" {
			t.Fatalf("headers without a milter:\n%s", m)
		}
	})
}

func waitFor(f func() bool) bool {
	for i := 0; i < 100; i++ {
		if f() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// generation reads the statfile generation from `sluice stat`: it changes
// when a grown file replaces the old one (inode numbers may be reused).
func generation(t *testing.T, stat string) string {
	t.Helper()
	for _, line := range strings.Split(stat, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "generation" {
			return f[1]
		}
	}
	t.Fatalf("no generation in sluice stat:\n%s", stat)
	return ""
}
