package spamd

import (
	"bytes"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicemail/sluice/bayes"
	"github.com/sluicemail/sluice/internal/corpus"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/tokenizer"
)

// BenchmarkProtocols pushes the test half of the public corpus through a
// real server over loopback TCP, once per protocol, with as many clients
// as CPUs: Exim's spamd request (REPORT SPAMC/1.2), Exim's rspamd request
// (CHECK RSPAMC/1.3) and rspamc's POST /checkv2. The statfile is learned
// from the train half first. It reports msgs/s (one figure per protocol,
// same corpus, same run):
//
//	go test -run '^$' -bench Protocols -benchtime 1x ./spamd
func BenchmarkProtocols(b *testing.B) {
	path := corpus.Require(b)
	msgs, err := corpus.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	var test [][]byte
	dir := b.TempDir()
	topts := tokenizer.Options{}
	p := tokenizer.New(topts).Params()
	params := mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}
	statPath := filepath.Join(dir, "bench.statfile")
	w, err := mmapstore.OpenWriter(statPath, &mmapstore.Options{Params: params, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	batch := learn.New(w, learn.Options{Tokenizer: topts}).NewBatch(0)
	for _, m := range msgs {
		if m.Test {
			test = append(test, m.Bytes)
			continue
		}
		class := learn.Ham
		if m.Spam {
			class = learn.Spam
		}
		batch.Add(bytes.NewReader(m.Bytes), class, "")
	}
	if err := batch.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	r, err := mmapstore.OpenReader(statPath, params)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	th := scan.Thresholds{AddHeader: 6, Reject: 15}
	sc := scan.New(r, scan.Options{Tokenizer: topts, Bayes: bayes.DefaultConfig(), Actions: th})
	_, addr := startServer(b, Options{Scanner: sc})

	for _, proto := range []struct {
		name string
		req  func([]byte) []byte
	}{
		{"spamd", func(m []byte) []byte {
			return append([]byte("REPORT SPAMC/1.2\r\nUser: nobody\r\nContent-length: "+itoa(len(m))+"\r\n\r\n"), m...)
		}},
		{"rspamc", func(m []byte) []byte { return append([]byte(rspamcHead(len(m))), m...) }},
		{"http", func(m []byte) []byte {
			return append([]byte("POST /checkv2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: "+itoa(len(m))+"\r\n\r\n"), m...)
		}},
	} {
		reqs := make([][]byte, len(test))
		for i, m := range test {
			reqs[i] = proto.req(m)
		}
		b.Run(proto.name, func(b *testing.B) {
			var next atomic.Int64
			total := int64(b.N * len(reqs)) // b.N passes over the test half
			var wg sync.WaitGroup
			start := time.Now()
			for range runtime.GOMAXPROCS(0) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= total {
							return
						}
						if err := roundTrip(addr, reqs[i%int64(len(reqs))]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64(len(reqs)), "msgs/pass")
		})
	}
}

func rspamcHead(n int) string {
	return "CHECK RSPAMC/1.3\r\nContent-length: " + itoa(n) + "\r\nQueue-Id: 1xUwmE-0006Zv-01\r\nFrom: <a@example.org>\r\n" +
		"Recipient-Number: 1\r\nRcpt: <bob@example.org>\r\nHelo: client.example\r\nIP: 127.0.0.1\r\n\r\n"
}

// roundTrip sends one request as Exim does and reads the reply to EOF.
func roundTrip(addr string, req []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write(req); err != nil {
		return err
	}
	c.(*net.TCPConn).CloseWrite()
	reply, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if len(reply) < 12 || !(bytes.HasPrefix(reply, []byte("SPAMD/1.1 0 ")) || bytes.HasPrefix(reply, []byte("RSPAMD/1.3 0 ")) || bytes.HasPrefix(reply, []byte("HTTP/1.1 200 "))) {
		return &ProtocolError{Code: exSoftware, Msg: "bad reply " + clip(string(reply))}
	}
	return nil
}
