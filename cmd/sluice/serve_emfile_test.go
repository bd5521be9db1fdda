package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Under nofile 1024, 1,100 connections to the milter port once left the
// spamd listener dead until a restart: its accept loop retried only
// timeouts, and serve did not notice it had ended. Here, at a tenth of the
// scale, a child `sluice serve` with RLIMIT_NOFILE 128 is held past its
// limit by 200 milter connections; once they close, spamd must answer a
// PING and the milter negotiate, and serve must still be running.
func TestServeSurvivesEMFILE(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestServeEMFILEChild$")
	child.Env = append(os.Environ(), "SLUICE_SERVE_EMFILE_DIR="+dir)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	var stderr syncBuffer
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child: %q %v\n%s", line, err, stderr.String())
	}
	milterSock, spamdSock := filepath.Join(dir, "m.sock"), filepath.Join(dir, "s.sock")
	var held []net.Conn
	for range 200 {
		c, err := net.Dial("unix", milterSock)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Out of descriptors: the child says so when an accept fails. (Whether
	// a PING sent now waits depends on which listener the scheduler ran
	// first, so the test waits for the child's word instead.)
	for i := 0; !strings.Contains(stderr.String(), "accept failed, retrying"); i++ {
		if i == 300 {
			t.Fatalf("no accept failed with 200 connections under RLIMIT_NOFILE 128\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, c := range held {
		c.Close()
	}
	var reply string
	var err error
	for range 30 { // each listener's accept pause is at most 1s
		if reply, err = ping(spamdSock, 2*time.Second); err == nil {
			break
		}
	}
	if reply != "SPAMD/1.5 0 PONG\r\n" {
		t.Fatalf("spamd after EMFILE: %q %v\n%s", reply, err, stderr.String())
	}
	if err := negotiate(milterSock); err != nil {
		t.Fatalf("milter after EMFILE: %v\n%s", err, stderr.String())
	}
	stdin.Close()
	if line, err := out.ReadString('\n'); err != nil || line != "exit 0\n" {
		t.Fatalf("child: %q %v\n%s", line, err, stderr.String())
	}
	child.Wait()
	if !strings.Contains(stderr.String(), "accept failed, retrying") {
		t.Errorf("no accept was retried: the limit did not bite\n%s", stderr.String())
	}
}

// ping sends spamd's PING and returns the reply's first line.
func ping(path string, wait time.Duration) (string, error) {
	c, err := net.DialTimeout("unix", path, wait)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	io.WriteString(c, "PING SPAMC/1.5\r\n\r\n")
	return bufio.NewReader(c).ReadString('\n')
}

// negotiate sends a milter option negotiation and reads the reply.
func negotiate(path string) error {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	pkt := binary.BigEndian.AppendUint32(nil, 13)
	pkt = append(pkt, 'O')
	pkt = binary.BigEndian.AppendUint32(pkt, 6)    // protocol version
	pkt = binary.BigEndian.AppendUint32(pkt, 0x31) // actions
	pkt = binary.BigEndian.AppendUint32(pkt, 0)    // protocol steps
	if _, err := c.Write(pkt); err != nil {
		return err
	}
	var hdr [5]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return err
	}
	if hdr[4] != 'O' {
		return fmt.Errorf("reply code %q", hdr[4])
	}
	return nil
}

// TestServeEMFILEChild is TestServeSurvivesEMFILE's child process.
func TestServeEMFILEChild(t *testing.T) {
	dir := os.Getenv("SLUICE_SERVE_EMFILE_DIR")
	if dir == "" {
		t.Skip("run by TestServeSurvivesEMFILE")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = 128
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		// The log goes to the parent as it is written: the parent waits
		// for the line that says an accept failed.
		done <- run(ctx, []string{"serve", "--data-dir", dir, "--listen", "unix:" + filepath.Join(dir, "m.sock"),
			"--spamd-listen", "unix:" + filepath.Join(dir, "s.sock"), "--http", "off"}, strings.NewReader(""), io.Discard,
			io.MultiWriter(&stderr, os.Stderr))
	}()
	for !strings.Contains(stderr.String(), "milter listening") {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d", code)
		case <-time.After(10 * time.Millisecond):
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	cancel()
	code := <-done
	fmt.Printf("exit %d\n", code)
}
