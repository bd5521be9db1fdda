package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// This file checks what an admin watches: rspamc stat and rspamc counters
// against `sluice serve`'s controller port (the learner's HTTP listener),
// the per-message log line of the spamd path, and the /metrics of `sluice
// spamd` run alone on its metrics_listen.

// serveWithSpamd writes a config for `sluice serve` with the spamd
// listener and the learner's HTTP listener on free ports, logs in JSON,
// learns a corpus and starts serve.
func serveWithSpamd(t *testing.T) (s *sluice, d *daemon, spamdAddr, httpAddr string) {
	t.Helper()
	s = newSluice(t)
	spamdPort, httpPort := freePort(t), freePort(t)
	extra := fmt.Sprintf("[spamd]\nlisten = \"inet:127.0.0.1:%d\"\nshutdown_timeout = \"5s\"\n"+
		"[learner]\nhttp_listen = \"inet:127.0.0.1:%d\"\n[log]\nformat = \"json\"\n", spamdPort, httpPort)
	f, err := os.OpenFile(s.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.learnCorpus(10)
	d = startDaemon(t, filepath.Join(s.dir, "serve.log"), s.config, func(*daemon) bool {
		return portOpen(spamdPort) && portOpen(httpPort) && portOpen(s.port)
	}, "serve")
	return s, d, fmt.Sprintf("127.0.0.1:%d", spamdPort), fmt.Sprintf("127.0.0.1:%d", httpPort)
}

func TestRspamcStatAndCounters(t *testing.T) {
	require(t)
	rspamc := tool(t, "SLUICE_RSPAMC", "rspamc")
	_, d, spamdAddr, httpAddr := serveWithSpamd(t)
	if out, code := client(t, e2eSpam, rspamc, "-h", spamdAddr, "-i", "192.0.2.44", "-F", "alice@example.net",
		"-r", "bob@example.org", "-r", "carol@example.org", "--header", "Queue-Id=4Qe2eStat", "symbols"); code != 0 || !strings.Contains(out, "Action: reject") {
		t.Fatalf("rspamc symbols (spam): exit %d\n%s", code, out)
	}
	if out, code := client(t, e2eHam, rspamc, "-h", spamdAddr, "symbols"); code != 0 || !strings.Contains(out, "Action: no action") {
		t.Fatalf("rspamc symbols (ham): exit %d\n%s", code, out)
	}

	out, code := client(t, "", rspamc, "-h", httpAddr, "stat")
	if code != 0 {
		t.Fatalf("rspamc stat: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"Messages scanned: 2", "Messages with action reject: 1, 50.00%", "Messages with action no action: 1, 50.00%",
		"Messages treated as spam: 1", "Messages learned: 20", "Statfile: BAYES_SPAM type: mmap;", "learned: 10;",
		"Statfile: BAYES_HAM type: mmap;", "Total learns: 20",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rspamc stat lacks %q:\n%s", want, out)
		}
	}
	out, code = client(t, "", rspamc, "-h", httpAddr, "counters")
	if code != 0 {
		t.Fatalf("rspamc counters: exit %d\n%s", code, out)
	}
	for _, want := range []string{"Symbols cache", "BAYES_SPAM", "BAYES_HAM"} {
		if !strings.Contains(out, want) {
			t.Errorf("rspamc counters lacks %q:\n%s", want, out)
		}
	}
	// BAYES_SPAM's row carries its configured weight, a positive number.
	if !regexp.MustCompile(`\| BAYES_SPAM\s*\|\s+[1-9][0-9]*\.[0-9]\s+\|`).MatchString(out) {
		t.Errorf("rspamc counters: no positive weight for BAYES_SPAM:\n%s", out)
	}

	// The spamd path's log line: one per message, with the envelope
	// rspamc sent.
	var line map[string]any
	for _, l := range strings.Split(d.logText(), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(l), &r) == nil && r["msg"] == "message scanned" && r["queue_id"] == "4Qe2eStat" {
			line = r
		}
	}
	want := map[string]any{"part": "spamd", "proto": "http", "client_ip": "192.0.2.44", "from": "alice@example.net",
		"rcpts": float64(2), "action": "reject"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log line %s = %#v, want %#v\n%v", k, line[k], v, line)
		}
	}
	if sy, _ := line["symbols"].(string); !strings.Contains(sy, "BAYES_SPAM=") {
		t.Errorf("log line symbols %q", line["symbols"])
	}

	// serve's one /metrics has both front ends.
	metrics := get(t, "http://"+httpAddr+"/metrics")
	for _, want := range []string{
		`sluice_spamd_scanned_total{action="reject"} 1`, `sluice_spamd_scan_seconds_count 2`,
		`sluice_milter_scanned_total{action="add_header"} 0`, "# HELP sluice_statfile_faults_total ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// get fetches url's body.
func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func TestSpamdAloneServesMetrics(t *testing.T) {
	require(t)
	rspamc := tool(t, "SLUICE_RSPAMC", "rspamc")
	s := newSluice(t)
	s.learnCorpus(10)
	spamdPort, metricsPort := freePort(t), freePort(t)
	f, err := os.OpenFile(s.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "[spamd]\nlisten = \"inet:127.0.0.1:%d\"\nshutdown_timeout = \"5s\"\nmetrics_listen = \"inet:127.0.0.1:%d\"\n", spamdPort, metricsPort)
	f.Close()
	startDaemon(t, filepath.Join(s.dir, "spamd.log"), s.config, func(*daemon) bool {
		return portOpen(spamdPort) && portOpen(metricsPort)
	}, "spamd")
	if out, code := client(t, e2eSpam, rspamc, "-h", fmt.Sprintf("127.0.0.1:%d", spamdPort), "symbols"); code != 0 {
		t.Fatalf("rspamc: exit %d\n%s", code, out)
	}
	body := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	sc := bufio.NewScanner(strings.NewReader(body))
	seen := map[string]bool{}
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "# HELP "); ok {
			seen[strings.Fields(name)[0]] = true
		}
	}
	for _, name := range []string{"sluice_spamd_scanned_total", "sluice_spamd_scan_seconds", "sluice_statfile_faults_total",
		"sluice_scan_non_finite_total", "go_goroutines"} {
		if !seen[name] {
			t.Errorf("/metrics of sluice spamd lacks %s", name)
		}
	}
	if !strings.Contains(body, `sluice_spamd_scanned_total{action="reject"} 1`) {
		t.Errorf("/metrics: no reject counted:\n%s", body)
	}
}

func TestMilterAloneServesMetrics(t *testing.T) {
	require(t)
	s := newSluice(t)
	metricsPort := freePort(t)
	cfg, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "[milter]\n", fmt.Sprintf("[milter]\nmetrics_listen = \"inet:127.0.0.1:%d\"\n", metricsPort), 1))
	if err := os.WriteFile(s.config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, filepath.Join(s.dir, "milter.log"), s.config, func(*daemon) bool {
		return portOpen(s.port) && portOpen(metricsPort)
	}, "milter")
	body := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	for _, want := range []string{
		`sluice_milter_scanned_total{action="no_action"} 0`, "sluice_milter_scan_seconds_count 0",
		"# HELP sluice_milter_connections_total ", "# HELP sluice_statfile_faults_total ", "# HELP go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics of sluice milter lacks %q", want)
		}
	}
}
