package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// contribLine returns the line of a contrib file that, without its
// leading "#", starts with prefix: the commented alternative the file
// offers, as written.
func contribLine(t *testing.T, root, name, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(readContrib(t, root, name), "\n") {
		if l = strings.TrimPrefix(l, "#"); strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("contrib/%s has no line starting with %q", name, prefix)
	return ""
}

// learnAsRoot learns n spam and n ham into the env's statfile before any
// daemon runs, then gives the data to user sluice.
func (e *debianEnv) learnAsRoot(n int) {
	e.t.Helper()
	for _, c := range []struct {
		class string
		pool  []string
	}{{"spam", spamWords}, {"ham", hamWords}} {
		dir := filepath.Join(e.root, "corpus-"+c.class)
		os.MkdirAll(dir, 0o755)
		for i := 0; i < n; i++ {
			m := mail(fmt.Sprintf("learn-%s-%d", c.class, i), i, fmt.Sprintf("%s %d", c.class, i), c.pool, 0)
			os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte(m), 0o644)
		}
		e.run("learn", c.class, dir)
	}
	e.chownData()
}

// socketExists is a readiness check: path exists.
func socketExists(path string) func(*daemon) bool {
	return func(*daemon) bool { _, err := os.Stat(path); return err == nil }
}

// TestDebianPostfixChroot: Postfix with smtpd and cleanup chrooted in its
// queue directory, as Debian's master.cf has them, calls the milter over
// the unix socket inside the chroot that contrib/sluice.toml's Postfix
// lines and contrib/systemd/postfix-chroot.conf set up (socket group
// postfix, the milter running as sluice with group postfix), with the
// smtpd_milters line of contrib/postfix/main.cf as written.
func TestDebianPostfixChroot(t *testing.T) {
	require(t, "postfix", "swaks")
	e := newDebianEnv(t, []string{
		`listen = "unix:/var/spool/postfix/sluice/milter.sock"`,
		`socket_group = "postfix"`,
	}, "statfile.initial_slots = 1024", "actions.add_header = 6", "actions.reject = 7",
		fmt.Sprintf("milter.reject_message = %q", "550 5.7.1 "+rejectText), `milter.shutdown_timeout = "5s"`)
	e.learnAsRoot(30)
	queue := e.path("/var/spool/postfix")
	if err := os.MkdirAll(queue, 0o755); err != nil {
		t.Fatal(err)
	}
	e.execStartPre("postfix-chroot.conf")
	sock := e.path("/var/spool/postfix/sluice/milter.sock")
	milter := e.start("sluice-milter.service", []string{"postfix-chroot.conf"}, socketExists(sock), "milter")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("milter socket mode %v, want 0660", fi.Mode().Perm())
	}
	milterLine := contribLine(t, e.root, "postfix/main.cf", "smtpd_milters = unix:")
	p := startPostfixWith(t, postfixOptions{milter: strings.TrimSpace(strings.TrimPrefix(milterLine, "smtpd_milters =")), chroot: true, queueDir: queue})

	out, ok := p.send(mail("chroot-spam", 1, "cheap offer", spamWords, 0))
	if ok || !strings.Contains(out, "550 5.7.1 "+rejectText) {
		log, _ := os.ReadFile(p.logFile)
		t.Fatalf("spam through the chroot socket: accepted=%v\n%s\nmaillog:\n%s\nmilter log:\n%s", ok, out, log, milter.logText())
	}
	out, ok = p.send(mail("chroot-ham", 1, "meeting minutes", hamWords, 0, "X-Spam-Flag: YES", "X-Spam-Status: Yes, spoofed"))
	if !ok {
		t.Fatalf("ham refused:\n%s", out)
	}
	m := p.delivered("chroot-ham")
	if !strings.HasPrefix(header(m, "X-Spam-Status"), "No, score=") || header(m, "X-Spam-Flag") != "" || strings.Contains(m, "spoofed") {
		t.Fatalf("delivered ham:\n%s", m)
	}
	if log, _ := os.ReadFile(p.logFile); strings.Contains(string(log), "Permission denied") || strings.Contains(string(log), "milter") && strings.Contains(string(log), "connect to Milter") {
		t.Errorf("Postfix could not reach the milter:\n%s", log)
	}
}

// TestDebianEximSocket: Exim running as Debian-exim, as Debian's exim4
// does, calls `sluice serve` (sluice.service with the exim-socket.conf
// drop-in: user sluice, group Debian-exim) over the unix socket that
// contrib/sluice.toml's Exim lines set up, with the unix-socket
// spamd_address of contrib/exim's main files and their ACLs as written.
func TestDebianEximSocket(t *testing.T) {
	require(t)
	exim := tool(t, "SLUICE_EXIM", "exim4")
	swaksBin := tool(t, "SLUICE_SWAKS", "swaks")
	lookupUser(t, "Debian-exim")
	e := newDebianEnv(t, []string{
		`listen = "unix:/run/sluice-spamd/spamd.sock"`,
		`socket_group = "Debian-exim"`,
	}, "statfile.initial_slots = 1024", "actions.add_header = 6", "actions.reject = 7",
		`spamd.shutdown_timeout = "5s"`, `milter.shutdown_timeout = "5s"`, `learner.shutdown_timeout = "5s"`)
	e.learnAsRoot(30)
	sock := e.path("/run/sluice-spamd/spamd.sock")
	serve := e.start("sluice.service", []string{"exim-socket.conf"}, socketExists(sock), "serve")
	for _, variant := range []string{"spamd", "rspamd"} {
		t.Run(variant, func(t *testing.T) {
			main := readContrib(t, e.root, "exim/main-"+variant+".conf")
			unixLine := contribLine(t, e.root, "exim/main-"+variant+".conf", "spamd_address = "+e.root)
			main = strings.Replace(main, "\nspamd_address = 127.0.0.1", "\n#spamd_address = 127.0.0.1", 1)
			main = strings.Replace(main, "#"+unixLine, unixLine, 1)
			main = strings.ReplaceAll(main, "SLUICE_REJECT_INT = 150", "SLUICE_REJECT_INT = 70")
			dir, port := startEximWith(t, exim, "Debian-exim", main, readContrib(t, e.root, "exim/acl-"+variant+".conf"))
			ham := mail("deb-exim-ham-"+variant, 2001, "exim ham", hamWords, 0, "X-Spam-Flag: YES", "X-Spam-Score: -99 forged")
			if out := swaks(t, swaksBin, port, ham); !strings.Contains(out, "<-  250 OK id=") {
				t.Fatalf("ham not accepted:\n%s", out)
			}
			got := waitMbox(t, filepath.Join(dir, "mail", "mbox"), "deb-exim-ham-"+variant, "X-Spam-Score: -", "X-Spam-Bar: -")
			if strings.Contains(got, "X-Spam-Flag: YES") || strings.Contains(got, "forged") {
				t.Errorf("ham flagged, or a forged field kept:\n%s", got)
			}
			out := swaks(t, swaksBin, port, mail("deb-exim-spam-"+variant, 2002, "exim spam", spamWords, 0))
			if !strings.Contains(out, "<** 550 Rejected as spam (score ") {
				t.Fatalf("spam not rejected over the unix socket:\n%s\nsluice log:\n%s", out, serve.logText())
			}
		})
	}
}

// TestGreylistPostfix: with [actions] greylist on, Postfix's first
// attempt gets 451; the retry after greylist.delay is delivered, marked,
// although the milter was restarted in between (the triplets are kept in
// the data directory).
func TestGreylistPostfix(t *testing.T) {
	require(t, "postfix", "swaks")
	e := newDebianEnv(t, nil, "statfile.initial_slots = 1024", "actions.add_header = 6", "actions.greylist = 6.5",
		"actions.reject = 0", // the spam scores far above the default 15: greylist, not reject
		`milter.shutdown_timeout = "5s"`, `greylist.delay = "2s"`)
	e.learnAsRoot(30)
	milter := e.start("sluice-milter.service", nil, listening(e.ports["milter"]), "milter")
	p := startPostfix(t, e.ports["milter"])
	msg := mail("grey-1", 1, "cheap offer", spamWords, 0)
	if out, ok := p.send(msg); ok || !strings.Contains(out, "451 4.7.1") {
		t.Fatalf("first attempt: accepted=%v\n%s\nmilter log:\n%s", ok, out, milter.logText())
	}
	// The milter recorded the attempt before answering: 3 s from now is
	// past the 2 s delay even in whole seconds, however slow the machine.
	retryAt := time.Now().Add(3 * time.Second)
	milter.stop()
	if _, err := os.Stat(e.path("/var/lib/sluice/greylist.db")); err != nil {
		t.Fatalf("the milter kept no greylist file: %v", err)
	}
	milter = e.start("sluice-milter.service", nil, listening(e.ports["milter"]), "milter")
	time.Sleep(time.Until(retryAt))
	if out, ok := p.send(msg); !ok {
		t.Fatalf("retry after the delay, across a restart: refused\n%s\nmilter log:\n%s", out, milter.logText())
	}
	if m := p.delivered("grey-1"); header(m, "X-Spam-Flag") != "YES" {
		t.Fatalf("the retry was delivered without X-Spam-Flag:\n%s", m)
	}
	if !grepFile(milter.log, "greylist=passed") {
		t.Errorf("no greylist=passed in the milter log:\n%s", milter.logText())
	}
}
