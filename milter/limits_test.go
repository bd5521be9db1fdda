package milter

import (
	"runtime"
	"strings"
	"testing"

	"github.com/emersion/go-milter"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// 100 MB of headers once grew the milter by 136 MB: go-milter kept every
// header of a connection in a map, and Sluice's max_size bounded only its
// own buffer. Now conn reads header packets for the session, which stops
// storing past MaxSize, and the message passes with the oversize header.
func TestHugeHeaderStaysBounded(t *testing.T) {
	const maxSize = 1 << 20
	h := start(t, Options{MaxSize: maxSize})
	s := h.session(t)
	defer s.Close()
	if _, err := s.Conn("c", milter.FamilyInet, 1, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for msg := range 2 { // the second message shows nothing is kept from the first
		if _, err := s.Mail("<a@example.org>", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rcpt("<r@example.org>", nil); err != nil {
			t.Fatal(err)
		}
		value := strings.Repeat("x", 100<<10)
		before := heapInUse()
		var peak uint64
		for i := range 500 { // 50 MB a message, 100 MB in all
			if act, err := s.HeaderField("X-Filler", value); err != nil || act.Code != milter.ActContinue {
				t.Fatalf("message %d header %d: %+v %v", msg, i, act, err)
			}
			if i%100 == 99 {
				peak = max(peak, heapInUse())
			}
		}
		if grew := int64(peak) - int64(before); grew > 8*maxSize {
			t.Fatalf("message %d: heap grew by %d bytes over 50 MB of headers (max_size %d)", msg, grew, maxSize)
		}
		if _, err := s.HeaderEnd(); err != nil {
			t.Fatal(err)
		}
		mods, act, err := s.BodyReadFrom(strings.NewReader("body\r\n"))
		if err != nil || act.Code != milter.ActAccept || !strings.Contains(headersOf(mods)["X-Spam-Status"], "skipped") {
			t.Fatalf("message %d: %+v %+v %v", msg, act, mods, err)
		}
	}
	if c := h.srv.Counters(); c.Skipped["oversize"] != 2 {
		t.Fatalf("counters %+v", c)
	}
}

// Past MaxConns an MTA connection is refused at once (and counted), not
// left waiting; the ones served go on.
func TestMaxConns(t *testing.T) {
	h := start(t, Options{MaxConns: 2})
	a, b := h.session(t), h.session(t)
	defer a.Close()
	defer b.Close()
	for _, s := range []*milter.ClientSession{a, b} {
		if _, err := s.Conn("c", milter.FamilyInet, 1, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	c := milter.NewClientWithOptions("tcp", h.addr, milter.ClientOptions{})
	if s, err := c.Session(); err == nil {
		s.Close()
		t.Fatal("third connection negotiated")
	}
	if got := h.srv.Counters().Refused; got != 1 {
		t.Fatalf("refused = %d", got)
	}
	m := newMessage(1, "hello", hamWords, 0)
	if _, act, err := send(a, envelope{}, m); err != nil || act.Code != milter.ActAccept {
		t.Fatalf("served connection: %+v %v", act, err)
	}
}
