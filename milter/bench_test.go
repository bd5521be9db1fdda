package milter

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-milter"
)

// BenchmarkMilter drives the server over loopback with several concurrent
// connections, each a go-milter client sending 10 KB messages (spam and
// ham in turn), and reports messages per second and the p50 / p99 time
// from end of message to the reply. "max" sends as fast as the connections
// go; "500/s" paces the senders to 500 messages per second in total, the
// load the issue sets p99 < 5 ms for.
//
//	go test -run '^$' -bench BenchmarkMilter -benchtime 4000x ./milter
func BenchmarkMilter(b *testing.B) {
	for _, bc := range []struct {
		name  string
		conns int
		rate  float64 // messages per second in total; 0 = unpaced
	}{{"max/conns=4", 4, 0}, {"500/s/conns=8", 8, 500}} {
		b.Run(bc.name, func(b *testing.B) { benchMilter(b, bc.conns, bc.rate) })
	}
}

func benchMilter(b *testing.B, conns int, rate float64) {
	h := start(b, Options{})
	msgs := make([]message, 64)
	for i := range msgs {
		pool := hamWords
		if i%2 == 0 {
			pool = spamWords
		}
		msgs[i] = newMessage(1000+i, "bench", pool, 10<<10)
	}
	var next atomic.Int64
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	b.ResetTimer()
	begin := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			s := h.session(b)
			defer s.Close()
			if _, err := s.Conn("bench", milter.FamilyInet, 1, netip.MustParseAddr("192.0.2.50").String()); err != nil {
				b.Error(err)
				return
			}
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if rate > 0 {
					if d := time.Until(begin.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
						time.Sleep(d)
					}
				}
				m := msgs[i%int64(len(msgs))]
				if err := sendTimed(s, m, &lat[c]); err != nil {
					b.Error(err)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(begin)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(ms(all[len(all)*50/100]), "p50-ms")
	b.ReportMetric(ms(all[min(len(all)-1, len(all)*99/100)]), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sendTimed sends one message and records the time from end of message
// (the last body chunk sent, EOB written) to the final reply.
func sendTimed(s *milter.ClientSession, m message, lat *[]time.Duration) error {
	if act, err := s.Mail("<s@example.org>", nil); err != nil || act.Code != milter.ActContinue {
		return fmt.Errorf("mail: %v %v", act, err)
	}
	if act, err := s.Rcpt("<r@example.org>", nil); err != nil || act.Code != milter.ActContinue {
		return fmt.Errorf("rcpt: %v %v", act, err)
	}
	for _, f := range m.header {
		if _, err := s.HeaderField(f[0], f[1]); err != nil {
			return err
		}
	}
	if _, err := s.HeaderEnd(); err != nil {
		return err
	}
	if _, err := s.BodyChunk([]byte(m.body)); err != nil {
		return err
	}
	t0 := time.Now()
	_, act, err := s.End()
	if err != nil || act.Code != milter.ActAccept {
		return fmt.Errorf("end: %v %v", act, err)
	}
	*lat = append(*lat, time.Since(t0))
	return nil
}
