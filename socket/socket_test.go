package socket

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct{ in, network, addr string }{
		{"unix:/run/sluice/milter.sock", "unix", "/run/sluice/milter.sock"},
		{"local:/var/spool/postfix/sluice/s", "unix", "/var/spool/postfix/sluice/s"},
		{"inet:127.0.0.1:7357", "tcp4", "127.0.0.1:7357"},
		{"inet:7357@localhost", "tcp4", "localhost:7357"},
		{"inet:[::1]:7357", "tcp6", "[::1]:7357"},
		{"inet6:7357@::1", "tcp6", "[::1]:7357"},
	} {
		n, a, err := ParseAddr(tc.in)
		if err != nil || n != tc.network || a != tc.addr {
			t.Errorf("ParseAddr(%q) = %q %q %v", tc.in, n, a, err)
		}
	}
	for _, bad := range []string{"", "unix:", "unix:rel.sock", "tcp:1.2.3.4:5", "inet:1.2.3.4", "inet:host:99999"} {
		if _, _, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) succeeded", bad)
		}
	}
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.sock")
	// A stale socket (its process gone) is replaced.
	old, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close()
	ln, err := Listen("unix:"+path, Options{Mode: 0o600, Group: "0"})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v %v", fi.Mode(), err)
	}
	// A live one is not.
	if _, err := Listen("unix:"+path, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener: %v", err)
	}
	ln.Close()
	// Nor is a file that is not a socket.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Listen("unix:"+file, Options{}); err == nil {
		t.Fatal("listened over a regular file")
	}
	if _, err := Listen("unix:"+filepath.Join(dir, "g.sock"), Options{Group: "no-such-group-sluice"}); err == nil {
		t.Fatal("unknown group accepted")
	}
}
