package learner

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"
)

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHostileSocketClient reproduces issue 14's "0.6 MB buys 8 GB": many
// connections to the learner socket, each claiming a message of the
// largest size and sending 1,000 bytes of it. The server takes a learn
// slot before it reads a message and grows the buffer with what arrives,
// so the heap stays bounded (measured in process), the learns past the
// cap are refused at once as busy (counted), and once the hostile
// clients go, learning works again.
func TestHostileSocketClient(t *testing.T) {
	const conns, maxLearns, sent = 300, 8, 1000
	const maxMsg = 32 << 20
	d := startDaemon(t, Options{MaxMessage: maxMsg}, false)
	path, srv := serveWith(t, d.Daemon, ServerOptions{MaxConns: 2 * conns, MaxLearns: maxLearns, IdleTimeout: time.Minute, RequestTimeout: time.Minute})

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	head := []byte("SLRQ\x01\x01\x00\x00\x00")
	head = binary.BigEndian.AppendUint32(head, maxMsg)
	head = append(head, make([]byte, sent)...)
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for range conns {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		if _, err := c.Write(head); err != nil {
			t.Fatal(err)
		}
	}
	busy := func() float64 {
		return d.counter(t, "sluice_learner_busy_total", map[string]string{"listener": "socket"})
	}
	waitFor(t, "the learns past the cap to be refused", func() bool { return busy() == conns-maxLearns })
	waitFor(t, "every slot to be taken", func() bool { return len(srv.slots) == maxLearns })

	var during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&during)
	grown := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d connections claiming %d MiB each, %d bytes sent: heap %+d KiB (%d learns in progress, %v refused as busy)",
		conns, maxMsg>>20, sent, grown>>10, len(srv.slots), busy())
	if grown > maxMsg {
		t.Fatalf("heap grew by %d MiB for %d bytes received", grown>>20, conns*(len(head)))
	}

	for _, c := range cs {
		c.Close()
	}
	cs = cs[:0]
	waitFor(t, "the slots to be freed", func() bool { return len(srv.slots) == 0 })
	c, err := Dial(context.Background(), path, maxMsg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, err := c.Learn(context.Background(), &Request{Label: Spam, Source: "test", Message: spam(1)}); err != nil || out != Learned {
		t.Fatalf("a learn after the hostile clients left: %v %v", out, err)
	}
}
