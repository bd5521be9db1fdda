package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sendmailMC is a private Sendmail: a daemon on a loopback port, its own
// queue and files below DIR, relaying everything for sluice-e2e.test to
// the test's SMTP sink (Debian's sendmail-cf macros, built with m4).
// @MILTER@ is contrib/sendmail/sluice.mc's INPUT_MAIL_FILTER line.
const sendmailMC = "divert(-1)\ndivert(0)dnl\n" +
	"include(`@CF@/m4/cf.m4')dnl\n" +
	"VERSIONID(`sluice e2e')dnl\n" +
	"OSTYPE(`linux')dnl\n" +
	"define(`confDOMAIN_NAME', `mx.sluice-e2e.test')dnl\n" +
	"define(`QUEUE_DIR', `@DIR@/mqueue')dnl\n" +
	"define(`confPID_FILE', `@DIR@/sendmail.pid')dnl\n" +
	"define(`ALIAS_FILE', `@DIR@/aliases')dnl\n" +
	"define(`STATUS_FILE', `@DIR@/statistics')dnl\n" +
	"define(`HELP_FILE', `@DIR@/helpfile')dnl\n" +
	"define(`confDONT_PROBE_INTERFACES', `True')dnl\n" +
	"define(`SMART_HOST', `esmtp:[127.0.0.1]')dnl\n" +
	"define(`RELAY_MAILER_ARGS', `TCP $h @SINK@')dnl\n" +
	"define(`ESMTP_MAILER_ARGS', `TCP $h @SINK@')dnl\n" +
	"define(`confTO_IDENT', `0')dnl\n" +
	"FEATURE(`nocanonify')dnl\n" +
	"FEATURE(`accept_unresolvable_domains')dnl\n" +
	"RELAY_DOMAIN(`sluice-e2e.test')dnl\n" +
	"DAEMON_OPTIONS(`Port=@PORT@, Addr=127.0.0.1, Name=MTA')dnl\n" +
	"@MILTER@\n" +
	"MAILER(`smtp')dnl\n"

// smtpSink is the least SMTP server that takes what Sendmail relays and
// keeps each message's data.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	wg   sync.WaitGroup
}

func startSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpSink) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprint(c, "220 sink ESMTP\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "DATA"):
			fmt.Fprint(c, "354 go on\r\n")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
				if b.Len() > 1<<20 {
					return
				}
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, b.String())
			s.mu.Unlock()
			fmt.Fprint(c, "250 kept\r\n")
		case strings.HasPrefix(cmd, "QUIT"):
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			fmt.Fprint(c, "250 ok\r\n")
		}
	}
}

// wait returns the first message containing sub, waiting up to 30 s.
func (s *smtpSink) wait(t *testing.T, sub string) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		s.mu.Lock()
		for _, m := range s.msgs {
			if strings.Contains(m, sub) {
				s.mu.Unlock()
				return m
			}
		}
		s.mu.Unlock()
	}
	t.Fatalf("no message with %q reached the sink", sub)
	return ""
}

// startSendmail builds sendmail.cf from sendmailMC with milterLine and
// runs the daemon in the foreground until the test ends. Sendmail insists
// on a qualified host name (unqualified, it sleeps a minute at start), so
// it runs in its own UTS and mount namespaces, named
// mx.sluice-e2e.test by a private /etc/hosts: the machine's stay as
// they are.
func startSendmail(t *testing.T, sendmail, cfDir, milterLine string, sinkPort int) (port int) {
	t.Helper()
	for _, b := range []string{"m4", "unshare", "hostname", "mount"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("the Sendmail test needs %s", b)
		}
	}
	dir, err := os.MkdirTemp("", "sluice-e2e-sendmail-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Mkdir(filepath.Join(dir, "mqueue"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "aliases"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "hosts"), []byte("127.0.0.1 mx.sluice-e2e.test mx localhost\n"), 0o644)
	port = freePort(t)
	mc := strings.NewReplacer("@CF@", cfDir, "@DIR@", dir, "@SINK@", fmt.Sprint(sinkPort), "@PORT@", fmt.Sprint(port), "@MILTER@", milterLine).Replace(sendmailMC)
	os.WriteFile(filepath.Join(dir, "sendmail.mc"), []byte(mc), 0o644)
	cf, err := exec.Command("m4", filepath.Join(dir, "sendmail.mc")).Output()
	if err != nil {
		t.Fatalf("m4 sendmail.mc: %v\n%s", err, mc)
	}
	cfPath := filepath.Join(dir, "sendmail.cf")
	os.WriteFile(cfPath, cf, 0o644)
	script := fmt.Sprintf("hostname mx.sluice-e2e.test && mount --bind %s /etc/hosts && exec %s -C %s -bD -O LogLevel=9",
		filepath.Join(dir, "hosts"), sendmail, cfPath)
	cmd := exec.Command("unshare", "--uts", "--mount", "--propagation", "private", "sh", "-c", script)
	out, _ := os.Create(filepath.Join(dir, "sendmail.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	t.Cleanup(func() {
		if t.Failed() {
			q, _ := exec.Command(sendmail, "-C", cfPath, "-bp").CombinedOutput()
			t.Logf("queue:\n%s", q)
			files, _ := filepath.Glob(filepath.Join(dir, "mqueue", "df*"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				t.Logf("%s:\n%.3000s", f, b)
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("sendmail did not stop on SIGTERM")
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "sendmail.out"))
			q, _ := exec.Command(sendmail, "-C", cfPath, "-bp").CombinedOutput()
			t.Logf("sendmail output:\n%s\nqueue:\n%s", b, q)
		}
	})
	waitPort(t, port)
	return port
}

// TestSendmail: Debian's Sendmail (sendmail-bin) with the
// INPUT_MAIL_FILTER lines of contrib/sendmail/sluice.mc, once over TCP
// (contrib/sluice.toml as shipped) and once over the unix socket in
// /run/sluice-milter (its Sendmail lines), the milter running as
// sluice-milter.service runs it: a ham is delivered with Sluice's
// headers, a spam is rejected with its reply.
func TestSendmail(t *testing.T) {
	require(t, "swaks")
	sendmail := tool(t, "SLUICE_SENDMAIL", "sendmail-mta")
	cfDir := os.Getenv("SLUICE_SENDMAIL_CF")
	if cfDir == "" {
		cfDir = "/usr/share/sendmail/cf"
	}
	if _, err := os.Stat(filepath.Join(cfDir, "m4", "cf.m4")); err != nil {
		if os.Getenv("SLUICE_E2E") == "1" {
			t.Fatalf("needs sendmail-cf (SLUICE_SENDMAIL_CF): %v", err)
		}
		t.Skipf("needs sendmail-cf (SLUICE_SENDMAIL_CF): %v", err)
	}
	for _, v := range []struct {
		name string
		use  []string // contrib/sluice.toml lines
		mc   string   // prefix of the contrib/sendmail/sluice.mc line
	}{
		{"inet", nil, "INPUT_MAIL_FILTER(`sluice', `S=inet:"},
		{"unix", []string{`listen = "unix:/run/sluice-milter/milter.sock"`}, "dnl INPUT_MAIL_FILTER(`sluice', `S=local:"},
	} {
		t.Run(v.name, func(t *testing.T) {
			e := newDebianEnv(t, v.use, "statfile.initial_slots = 1024", "actions.add_header = 6", "actions.reject = 7",
				fmt.Sprintf("milter.reject_message = %q", "550 5.7.1 "+rejectText), `milter.shutdown_timeout = "5s"`)
			e.learnAsRoot(30)
			ready := listening(e.ports["milter"])
			if v.name == "unix" {
				ready = socketExists(e.path("/run/sluice-milter/milter.sock"))
			}
			milter := e.start("sluice-milter.service", nil, ready, "milter")
			line := contribLine(t, e.root, "sendmail/sluice.mc", v.mc)
			line = strings.TrimPrefix(line, "dnl ")
			line = strings.Replace(line, "S=inet:7357@127.0.0.1", fmt.Sprintf("S=inet:%d@127.0.0.1", e.ports["milter"]), 1)
			sink := startSink(t)
			port := startSendmail(t, sendmail, cfDir, line, sink.port())

			ham := mail("sm-ham-"+v.name, 1, "meeting minutes", hamWords, 0, "X-Spam-Flag: YES", "X-Spam-Status: Yes, spoofed")
			if out := swaks(t, "swaks", port, ham); !strings.Contains(out, "<-  250 2.0.0") {
				t.Fatalf("ham not accepted:\n%s\nmilter log:\n%s", out, milter.logText())
			}
			m := sink.wait(t, "sm-ham-"+v.name)
			if !strings.HasPrefix(header(m, "X-Spam-Status"), "No, score=") || header(m, "X-Spam-Score") == "" ||
				header(m, "X-Spam-Flag") != "" || strings.Contains(m, "spoofed") {
				t.Fatalf("delivered ham:\n%s", m)
			}
			out := swaks(t, "swaks", port, mail("sm-spam-"+v.name, 1, "cheap offer", spamWords, 0))
			if !strings.Contains(out, "<** 550 5.7.1 "+rejectText) {
				t.Fatalf("spam not rejected:\n%s\nmilter log:\n%s", out, milter.logText())
			}
		})
	}
}
