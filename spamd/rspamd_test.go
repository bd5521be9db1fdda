package spamd

import (
	"strings"
	"testing"
)

// eximRspamd is the request Exim's variant=rspamd sends.
func eximRspamd(msg string) string {
	return "CHECK RSPAMC/1.3\r\nContent-length: " + itoa(len(msg)) + "\r\nQueue-Id: 1xUwmE-0006Zv-01\r\nFrom: <a@example.org>\r\n" +
		"Recipient-Number: 1\r\nRcpt: <bob@example.org>\r\nHelo: client.example\r\nIP: 127.0.0.1\r\n\r\n" + msg
}

func httpWant(status, ctype, body string) string {
	return "HTTP/1.1 " + status + "\r\nConnection: close\r\nServer: sluice\r\nContent-Type: " + ctype +
		"\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
}

func post(path, headers, msg string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\n" + headers + "Content-Length: " + itoa(len(msg)) + "\r\n\r\n" + msg
}

const checkSpamJSON = `{"is_skipped":false,"score":8,"required_score":15,"action":"add header","thresholds":{"add header":6,"reject":15},` +
	`"symbols":{"BAYES_SPAM":{"name":"BAYES_SPAM","score":8,"metric_score":8,"description":"Bayes spam probability is 99.99%","options":["99.99%"]}},"messages":{}}`

// The legacy rspamd protocol (Exim's variant=rspamd) and rspamd's HTTP
// API: each request and the exact reply.
func TestRspamdProtocols(t *testing.T) {
	_, addr := startServer(t, Options{Learner: &fakeLearner{}, LearnPassword: "pw"})
	tests := []struct{ name, req, want string }{
		{"legacy check as Exim sends it", eximRspamd(spamMsg),
			"RSPAMD/1.3 0 EX_OK\r\nMetric: default; False; 8.00 / 15.00 / 15.00\r\nAction: add header\r\nSymbol: BAYES_SPAM(8.00)\r\n"},
		{"legacy check reject", eximRspamd("Subject: reject-me\r\n\r\nx\r\n"),
			"RSPAMD/1.3 0 EX_OK\r\nMetric: default; True; 16.00 / 15.00 / 15.00\r\nAction: reject\r\nSymbol: BAYES_SPAM(8.00)\r\nSymbol: RULE_X(8.00)\r\n"},
		{"legacy check ham", eximRspamd(hamMsg),
			"RSPAMD/1.3 0 EX_OK\r\nMetric: default; False; -4.00 / 15.00 / 15.00\r\nAction: no action\r\nSymbol: BAYES_HAM(-4.00)\r\n"},
		{"legacy ping", "PING RSPAMC/1.3\r\n\r\n", "RSPAMD/1.3 0 PONG\r\n"},
		{"legacy unknown verb", "FROB RSPAMC/1.3\r\n\r\n", "RSPAMD/1.3 76 EX_PROTOCOL unknown verb \"FROB\"\r\n"},
		{"legacy tell is not rspamd's", "TELL RSPAMC/1.3\r\nContent-length: 0\r\n\r\n", "RSPAMD/1.3 76 EX_PROTOCOL unknown verb \"TELL\"\r\n"},
		{"legacy bad Content-length", "CHECK RSPAMC/1.3\r\nContent-length: x\r\n\r\n", "RSPAMD/1.3 76 EX_PROTOCOL bad Content-length \"x\"\r\n"},
		{"legacy not a message", eximRspamd("nomail"), "RSPAMD/1.3 65 EX_DATAERR input is not a mail message\r\n"},

		{"checkv2", post("/checkv2", "Deliver-To: bob@example.org\r\nIP: 127.0.0.1\r\n", spamMsg), httpWant("200 OK", "application/json", checkSpamJSON)},
		{"checkv2 HTTP/1.0", strings.Replace(post("/checkv2", "", spamMsg), "HTTP/1.1", "HTTP/1.0", 1), httpWant("200 OK", "application/json", checkSpamJSON)},
		{"ping", "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", httpWant("200 OK", "text/plain", "pong\r\n")},
		{"learnspam", post("/learnspam", "Password: pw\r\n", spamMsg), httpWant("200 OK", "application/json", `{"success":true}`)},
		{"learnspam again", post("/learnspam", "Password: pw\r\n", spamMsg), httpWant("208 Already Reported", "application/json", `{"error":"message has been already learned as spam, ignore it"}`)},
		{"learnham relearns", post("/learnham", "Password: pw\r\n", spamMsg), httpWant("200 OK", "application/json", `{"success":true}`)},
		{"learn busy", post("/learnham", "Password: pw\r\n", "Subject: busy\r\n\r\nx"), httpWant("503 Service Unavailable", "application/json", `{"error":"statistics busy, try again later"}`)},
		{"checkv2 not a message", post("/checkv2", "", "nomail"), httpWant("400 Bad Request", "application/json", `{"error":"input is not a mail message"}`)},
		{"get checkv2", "GET /checkv2 HTTP/1.1\r\nHost: x\r\n\r\n", httpWant("405 Method Not Allowed", "application/json", `{"error":"use POST"}`)},
		{"unknown path", post("/symbols", "", spamMsg), httpWant("404 Not Found", "application/json", `{"error":"no such endpoint"}`)},
		{"malformed header", "POST /checkv2 HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n",
			httpWant("400 Bad Request", "application/json", `{"error":"bad request: malformed MIME header: missing colon: \"bad header\""}`)},
		{"too large", "POST /checkv2 HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n",
			httpWant("413 Request Entity Too Large", "application/json", `{"error":"message larger than 10485760 bytes"}`)},
		{"too many header fields", "POST /checkv2 HTTP/1.1\r\nHost: x\r\n" + manyFields(1100) + "\r\n",
			httpWant("431 Request Header Fields Too Large", "application/json", `{"error":"more than 1024 header fields"}`)},
		{"chunked body", "POST /checkv2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + itoaHex(len(spamMsg)) + "\r\n" + spamMsg + "\r\n0\r\n\r\n",
			httpWant("200 OK", "application/json", checkSpamJSON)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exchange(t, addr, tt.req); got != tt.want {
				t.Fatalf("reply\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("X-F" + itoa(i) + ": v\r\n")
	}
	return b.String()
}

func itoaHex(n int) string {
	const digits = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 16 {
		b = append([]byte{digits[n%16]}, b...)
	}
	return string(b)
}

func TestRspamdUser(t *testing.T) {
	tests := []struct {
		h    map[string][]string
		want string
	}{
		{map[string][]string{"rcpt": {"<bob@example.org>"}}, "bob@example.org"},
		{map[string][]string{"rcpt": {"<a@x>", "<b@x>"}}, ""},
		{map[string][]string{"rcpt": {"<a@x>"}, "deliver-to": {"carol@x"}}, "carol@x"},
		{map[string][]string{"user": {"sender@x"}}, ""},
	}
	for _, tt := range tests {
		if got := rspamdUser(tt.h); got != tt.want {
			t.Errorf("rspamdUser(%v) = %q, want %q", tt.h, got, tt.want)
		}
	}
}
