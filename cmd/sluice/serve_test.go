package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sluice serve runs milter, learner and spamd in one process: sluice learn
// goes through its learner, spamd's TELL too, and the context's
// cancellation (SIGTERM) stops all three cleanly.
func TestServeCommand(t *testing.T) {
	defer log.SetOutput(os.Stderr)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	spamdSock := filepath.Join(dir, "spamd.sock")
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--listen", "unix:" + filepath.Join(dir, "m.sock"),
			"--spamd-listen", "unix:" + spamdSock, "--http", "off"}, strings.NewReader(""), &bytes.Buffer{}, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "milter listening") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, out, errs := sluice(t, sample(t), "learn", "--data-dir", dir, "spam"); code != 0 || !strings.Contains(out, "via learner") {
		t.Fatalf("learn: exit %d %q %q", code, out, errs)
	}
	c, err := net.Dial("unix", spamdSock)
	if err != nil {
		t.Fatal(err)
	}
	msg := sample(t)
	io.WriteString(c, "TELL SPAMC/1.3\r\nRemove: local\r\nContent-length: "+strconv.Itoa(len(msg))+"\r\n\r\n"+msg)
	c.(*net.UnixConn).CloseWrite()
	reply, _ := io.ReadAll(c)
	c.Close()
	if string(reply) != "SPAMD/1.1 0 EX_OK\r\nDidRemove: local\r\n\r\n\r\n" {
		t.Fatalf("TELL Remove through the in-process learner: %q", reply)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sluice serve did not stop")
	}
	for _, want := range []string{"milter stopped", "spamd stopped", "learner stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}
	// With [neural] on (the default) the learner keeps training pools,
	// saved when it stops.
	if _, err := os.Stat(filepath.Join(dir, "neural.nn.pools")); err != nil {
		t.Errorf("neural pools not saved: %v", err)
	}
	if tot := totalsOf(t, dir); tot.Spam != 0 {
		t.Fatalf("totals after forget %+v", tot)
	}
	if code, _, errs := sluice(t, "", "fsck", "--data-dir", dir); code != 0 {
		t.Fatalf("fsck: %d %s", code, errs)
	}
}
