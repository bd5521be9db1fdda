package logging

import (
	"bytes"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen opens a unix datagram socket standing in for /dev/log.
func listen(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 8192)
	// A deadline only so that a missing datagram fails the test instead
	// of hanging it; nothing here depends on speed.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestSyslogFacilityAndSeverity(t *testing.T) {
	tests := []struct {
		name   string
		log    func(l interface{ Info(string, ...any) }, w interface{ Warn(string, ...any) })
		prio   string // <facility*8+severity>: mail is 2
		format string
	}{
		{"info", func(l interface{ Info(string, ...any) }, _ interface{ Warn(string, ...any) }) {
			l.Info("message scanned", "queue_id", "4Xyz", "action", "add_header")
		}, "<22>", "json"},
		{"warn", func(_ interface{ Info(string, ...any) }, w interface{ Warn(string, ...any) }) {
			w.Warn("message scanned", "queue_id", "4Xyz", "action", "add_header")
		}, "<20>", "json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, path := listen(t)
			var stderr bytes.Buffer
			l := New(Options{Output: "syslog", Format: tt.format, SyslogNetwork: "unixgram", SyslogAddr: path}, &stderr)
			tt.log(l.With("part", "milter"), l.With("part", "milter"))
			got := receive(t, c)
			if !strings.HasPrefix(got, tt.prio) {
				t.Fatalf("datagram %q does not start with %s", got, tt.prio)
			}
			body := got[strings.Index(got, "{"):]
			var rec map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &rec); err != nil {
				t.Fatalf("%q: %v", body, err)
			}
			if rec["msg"] != "message scanned" || rec["queue_id"] != "4Xyz" || rec["part"] != "milter" {
				t.Fatalf("record %v", rec)
			}
			if _, ok := rec["time"]; ok {
				t.Fatalf("record has its own time (syslog stamps it): %v", rec)
			}
			if !strings.Contains(got, "sluice") {
				t.Fatalf("datagram %q has no tag", got)
			}
			if stderr.Len() != 0 {
				t.Fatalf("stderr: %q", stderr.String())
			}
		})
	}
}

func TestSyslogMissingFallsBackToStderr(t *testing.T) {
	var stderr bytes.Buffer
	l := New(Options{Output: "syslog", Format: "json", SyslogNetwork: "unixgram", SyslogAddr: filepath.Join(t.TempDir(), "none")}, &stderr)
	l.Info("after")
	dec := json.NewDecoder(&stderr)
	var warn, after map[string]any
	if err := dec.Decode(&warn); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&after); err != nil {
		t.Fatal(err)
	}
	if warn["level"] != "WARN" || !strings.Contains(warn["msg"].(string), "syslog") || after["msg"] != "after" {
		t.Fatalf("stderr: %v, %v", warn, after)
	}
}

func TestStderrLevelAndFormat(t *testing.T) {
	var stderr bytes.Buffer
	l := New(Options{Level: "warn", Format: "text"}, &stderr)
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	if got := stderr.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "msg=shown k=v") {
		t.Fatalf("stderr: %q", got)
	}
}
