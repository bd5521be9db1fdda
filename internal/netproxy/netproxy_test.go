package netproxy

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echo serves a line echo on loopback until the test ends.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, r *bufio.Reader, msg string, wait time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	return r.ReadString('\n')
}

func TestProxyCutStallHeal(t *testing.T) {
	p, err := New("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetTarget(echo(t)) // after New: the first connection waits for it
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	if got, err := roundTrip(c, r, "one", 5*time.Second); err != nil || got != "one\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}
	p.Stall()
	if got, err := roundTrip(c, r, "two", 200*time.Millisecond); err == nil {
		t.Fatalf("stalled proxy forwarded %q", got)
	}
	p.Heal()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "two\n" {
		t.Fatalf("after heal: %q, %v", got, err)
	}
	p.Cut()
	if _, err := roundTrip(c, r, "three", 5*time.Second); err == nil {
		t.Fatal("a cut connection still answers")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		r2 := bufio.NewReader(c2)
		if got, err := roundTrip(c2, r2, "four", 5*time.Second); err == nil {
			t.Fatalf("a cut proxy forwarded %q", got)
		}
		c2.Close()
	}
	p.Heal()
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, bufio.NewReader(c3), "five", 5*time.Second); err != nil || got != "five\n" {
		t.Fatalf("after heal: %q, %v", got, err)
	}
}
