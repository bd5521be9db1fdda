package spamd

import (
	"bufio"
	"bytes"
	"testing"
	"time"
)

// FuzzReadRequest: the spamd / legacy rspamd request parser never panics,
// keeps its limits, and fails only with a ProtocolError or a read error.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		spamc("CHECK SPAMC/1.5", "User: a\r\n", spamMsg), eximRspamd(spamMsg),
		spamc("TELL SPAMC/1.3", "Message-class: spam\r\nSet: local, remote\r\n", spamMsg),
		"PING SPAMC/1.2\r\n\r\n", "CHECK SPAMC/1.5\r\nContent-length: 99\r\n\r\nx", "CHECK SPAMC/1.5\r\nCompress: zlib\r\n\r\nx\x9c",
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxSize: 256, MaxHeaders: 16, MaxLineLength: 128}
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), lim.MaxLineLength+2)
		line, err := readLine(br, lim.MaxLineLength)
		if err != nil {
			return
		}
		req, err := ReadRequest(br, line, lim)
		if err != nil {
			return
		}
		if int64(len(req.Body)) > lim.MaxSize || len(req.Header) > lim.MaxHeaders {
			t.Fatalf("limits exceeded: %d body bytes, %d headers", len(req.Body), len(req.Header))
		}
		if req.Proto != ProtoSpamd && req.Proto != ProtoRspamc {
			t.Fatalf("proto %v", req.Proto)
		}
		if req.Verb == "TELL" {
			parseTell(req)
		}
	})
}

// FuzzHandle: any bytes on a connection get a well-formed reply of one of
// the three protocols (or none), never a panic.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		spamc("PROCESS SPAMC/1.5", "", hamMsg), spamc("SYMBOLS SPAMC/1.2", "", spamMsg), eximRspamd(spamMsg),
		post("/checkv2", "Deliver-To: a@b\r\n", spamMsg), post("/learnspam", "", spamMsg), "GET /ping HTTP/1.0\r\n\r\n",
		spamc("TELL SPAMC/1.3", "Message-class: ham\r\nRemove: local\r\n", spamMsg), spamc("HEADERS SPAMC/1.5", "", "Subject: x\n\nbody"),
	} {
		f.Add([]byte(s))
	}
	srv := New(Options{Scanner: fakeScanner{}, Learner: &fakeLearner{},
		Limits: Limits{MaxSize: 1024, MaxHeaders: 32, MaxLineLength: 256}})
	f.Fuzz(func(t *testing.T, in []byte) {
		if bytes.Contains(in, []byte("panic!")) || bytes.Contains(in, []byte("slow!")) {
			return // the fake scanner's own triggers
		}
		// A compressed body can decompress to the fake scanner's "slow!",
		// which waits for the deadline: a short one keeps every input
		// short (a fuzz run that ends during a 1 s input reported "context
		// deadline exceeded"); a timed-out scan still answers with a
		// status line.
		reply := handleBytesWithin(srv, in, 20*time.Millisecond)
		if len(reply) == 0 {
			return
		}
		for _, p := range []string{"SPAMD/1.", "RSPAMD/1.3 ", "HTTP/1.1 "} {
			if bytes.HasPrefix(reply, []byte(p)) {
				return
			}
		}
		t.Fatalf("reply %q has no protocol status line", reply)
	})
}
