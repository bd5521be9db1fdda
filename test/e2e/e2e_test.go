package e2e

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var sluiceBin string // built once by TestMain

func TestMain(m *testing.M) {
	// postfix is in /usr/sbin, which a non-login PATH may lack.
	os.Setenv("PATH", os.Getenv("PATH")+string(os.PathListSeparator)+"/usr/sbin:/sbin")
	dir, err := os.MkdirTemp("", "sluice-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBin = filepath.Join(dir, "sluice")
	out, err := exec.Command("go", "build", "-o", sluiceBin, "../../cmd/sluice").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build sluice: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// require skips the test when it cannot run here, or fails it when
// SLUICE_E2E=1 says it must.
func require(t *testing.T, bins ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "end-to-end test needs " + strings.Join(missing, ", ") + " (apt-get install postfix swaks miltertest dovecot-imapd dovecot-sieve; run as root)"
	if os.Getenv("SLUICE_E2E") == "1" {
		t.Fatal(msg + "; SLUICE_E2E=1 requires it")
	}
	t.Skip(msg + "; set SLUICE_E2E=1 to make this a failure")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// portOpen reports whether 127.0.0.1:port accepts a connection.
func portOpen(port int) bool {
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitPort waits up to 15 s for 127.0.0.1:port to accept connections.
func waitPort(t *testing.T, port int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !portOpen(port); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on 127.0.0.1:%d", port)
		}
	}
}

var (
	spamWords = strings.Fields("viagra casino winner prize claim cash offer free pills cheap loan bonus guaranteed click unsubscribe million")
	hamWords  = strings.Fields("meeting agenda kernel patch review thursday lunch project deadline minutes draft build release branch merge")
)

// mail builds a message of words from pool (their order varies with seed),
// with extra header lines.
func mail(id string, seed int, subject string, pool []string, size int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender@example.org\r\nTo: user@sluice-e2e.test\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n", subject, id)
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("\r\n")
	for j := 0; j < 40 || b.Len() < size; j++ {
		b.WriteString(pool[(seed*7+j*3)%len(pool)])
		if j%12 == 11 {
			b.WriteString("\r\n")
		} else {
			b.WriteByte(' ')
		}
	}
	fmt.Fprintf(&b, "\r\nref %s\r\n", id)
	return b.String()
}

// sluice is one data directory and configuration, and optionally a
// running milter.
type sluice struct {
	t      *testing.T
	dir    string
	config string
	port   int
	milter *daemon
}

const rejectText = "Sluice e2e: rejected as spam"

func newSluice(t *testing.T) *sluice {
	t.Helper()
	s := &sluice{t: t, dir: t.TempDir(), port: freePort(t)}
	s.config = filepath.Join(s.dir, "sluice.toml")
	cfg := fmt.Sprintf(`data_dir = %q
[statfile]
initial_slots = 1024
[actions]
add_header = 6
reject = 7
[milter]
listen = "inet:127.0.0.1:%d"
max_size = "64KiB"
reject_message = "550 5.7.1 %s"
shutdown_timeout = "5s"
[headers]
report = true
spamd_result = true
x_spam = true
`, filepath.Join(s.dir, "data"), s.port, rejectText)
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The data directory exists, as an install makes it: sluice learn
	// (run here before any daemon) never creates one.
	if err := os.MkdirAll(filepath.Join(s.dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs a sluice command to completion.
func (s *sluice) run(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(sluiceBin, append([]string{args[0], "--config", s.config}, args[1:]...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// learnCorpus learns n spam and n ham messages from the word pools.
func (s *sluice) learnCorpus(n int) {
	s.t.Helper()
	for _, c := range []struct {
		class string
		pool  []string
	}{{"spam", spamWords}, {"ham", hamWords}} {
		dir := filepath.Join(s.dir, "corpus-"+c.class)
		os.MkdirAll(dir, 0o755)
		for i := 0; i < n; i++ {
			m := mail(fmt.Sprintf("learn-%s-%d", c.class, i), i, fmt.Sprintf("%s %d", c.class, i), c.pool, 0)
			os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte(m), 0o644)
		}
		s.run("learn", c.class, dir)
	}
	probe := filepath.Join(s.dir, "probe.eml")
	os.WriteFile(probe, []byte(mail("probe", 1000, "probe", spamWords, 0)), 0o644)
	if out := s.run("scan", probe); !strings.Contains(out, "\treject\t") {
		s.t.Fatalf("after learning, a spam is not rejected by sluice scan:\n%s\n%s", out, s.run("stat"))
	}
}

// learnNoise learns n spam messages of random words: many new tokens, so
// that the statfile grows and is replaced by a larger one.
func (s *sluice) learnNoise(n int, seed uint64) {
	s.t.Helper()
	dir := filepath.Join(s.dir, fmt.Sprintf("noise-%d", seed))
	os.MkdirAll(dir, 0o755)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < n; i++ {
		var words []string
		for j := 0; j < 60; j++ {
			words = append(words, fmt.Sprintf("w%x", r.Uint32()))
		}
		// The header of mail(): only the body's words are new tokens, and
		// the header's (sender, recipient, date) stay as balanced between
		// the classes as before, so the test spam's score does not move.
		m := fmt.Sprintf("From: sender@example.org\r\nTo: user@sluice-e2e.test\r\nSubject: noise %d\r\nMessage-ID: <noise-%d-%d@example.org>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n%s\r\n", i, seed, i, strings.Join(words, " "))
		os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), []byte(m), 0o644)
	}
	s.run("learn", "spam", dir)
}

// start runs `sluice milter` and waits until it listens.
func (s *sluice) start() {
	s.t.Helper()
	s.milter = startDaemon(s.t, filepath.Join(s.dir, "milter.log"), s.config, listening(s.port), "milter")
}

// stop stops the milter (SIGTERM, a clean exit); it is idempotent.
func (s *sluice) stop() { s.milter.stop() }

func (s *sluice) logText() string { return s.milter.logText() }

// grepFile reports whether a line of path contains all of subs.
func grepFile(path string, subs ...string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(sc.Text(), s)
		}
		if ok {
			return true
		}
	}
	return false
}
