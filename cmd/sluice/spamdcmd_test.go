package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
)

// sluice spamd in-process on a unix socket: it answers, learns through the
// direct learner (75 while another writer holds the statfile), and exits 0
// on SIGTERM (the context's cancellation).
func TestSpamdCommand(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "spamd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"spamd", "--data-dir", dir, "--listen", "unix:" + sock}, strings.NewReader(""), io.Discard, &stderr)
	}()
	talk := func(req string) string {
		t.Helper()
		var c net.Conn
		var err error
		for i := 0; i < 100; i++ {
			if c, err = net.Dial("unix", sock); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("dial: %v\n%s", err, stderr.String())
		}
		defer c.Close()
		io.WriteString(c, req)
		c.(*net.UnixConn).CloseWrite()
		b, _ := io.ReadAll(c)
		return string(b)
	}
	msg := sample(t)
	tell := func(class string) string {
		return talk("TELL SPAMC/1.3\r\nMessage-class: " + class + "\r\nSet: local\r\nContent-length: " + strconv.Itoa(len(msg)) + "\r\n\r\n" + msg)
	}
	if got := talk("PING SPAMC/1.5\r\n\r\n"); got != "SPAMD/1.5 0 PONG\r\n" {
		t.Fatalf("ping: %q", got)
	}
	if got := tell("spam"); got != "SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n\r\n" {
		t.Fatalf("tell: %q", got)
	}
	if got := tell("spam"); got != "SPAMD/1.1 0 EX_OK\r\n\r\n\r\n" {
		t.Fatalf("tell again: %q", got)
	}
	w, err := mmapstore.OpenWriter(filepath.Join(dir, "bayes.statfile"), writerOptions(defaultConfig(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := tell("ham"); got != "SPAMD/1.0 75 EX_TEMPFAIL statistics busy, try again later\r\n" {
		t.Errorf("tell while the statfile is locked: %q", got)
	}
	w.Close()
	if got := tell("ham"); got != "SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n\r\n" {
		t.Errorf("tell after the lock is gone: %q", got)
	}
	if got := talk("CHECK SPAMC/1.5\r\nContent-length: " + strconv.Itoa(len(msg)) + "\r\n\r\n" + msg); !strings.HasPrefix(got, "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: False ; ") {
		t.Errorf("check: %q", got)
	}
	// The daemon's watcher loads a network published into the data
	// directory; the next messages are scored with it.
	symbols := func() string {
		return talk("SYMBOLS SPAMC/1.5\r\nContent-length: " + strconv.Itoa(len(msg)) + "\r\n\r\n" + msg)
	}
	if got := symbols(); strings.Contains(got, "NEURAL") {
		t.Fatalf("symbols without a network: %q", got)
	}
	if err := nn.Save(filepath.Join(dir, "neural.nn"), constNet(t, 0.9, 1)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(symbols(), "NEURAL_SPAM"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("network not in service 5 s after it was saved: %q", symbols())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sluice spamd did not stop")
	}
	if !strings.Contains(stderr.String(), "spamd stopped") {
		t.Errorf("no final log line:\n%s", stderr.String())
	}
}
