package spamd

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/spamheader"
)

const (
	okSpam = "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 8.0 / 6.0\r\n\r\n"
	// reportSpam is the REPORT body for spamMsg.
	reportSpam = "Sluice has identified this incoming email as possible spam.\n\n" +
		"Content analysis details:   (8.0 points, 6.0 required, action add header)\n\n" +
		" pts rule name              description\n" +
		"---- ---------------------- --------------------------------------------------\n" +
		" 8.0 BAYES_SPAM             Bayes spam probability is 99.99%\n"
	hamHead = "From: b@example.org\r\nSubject: lunch\r\n" +
		"X-Spam-Status: No, score=-4.0 required=6.0 tests=BAYES_HAM\r\n" +
		"X-Spam-Score: -4.00\r\nX-Spam-Level: \r\nX-Spam-Bar: ----\r\n\r\n"
)

// Each spamd verb and each malformed request: the request bytes and the
// exact reply bytes. The TELL cases run in order against one learner.
func TestSpamdVerbs(t *testing.T) {
	fl := &fakeLearner{}
	_, addr := startServer(t, Options{Learner: fl, LearnPassword: "pw"})
	tests := []struct{ name, req, want string }{
		{"ping", "PING SPAMC/1.5\r\n\r\n", "SPAMD/1.5 0 PONG\r\n"},
		{"ping 1.2 without headers", "PING SPAMC/1.2\r\n\r\n", "SPAMD/1.5 0 PONG\r\n"},
		{"check spam 1.5", spamc("CHECK SPAMC/1.5", "User: alice\r\n", spamMsg), okSpam},
		{"check ham 1.2", spamc("CHECK SPAMC/1.2", "", hamMsg), "SPAMD/1.1 0 EX_OK\r\nSpam: False ; -4.0 / 6.0\r\n\r\n"},
		{"check to EOF without Content-length", "CHECK SPAMC/1.5\r\n\r\n" + spamMsg, okSpam},
		{"lower-case verb and header names", "check SPAMC/1.5\r\ncontent-LENGTH: " + itoa(len(spamMsg)) + "\r\n\r\n" + spamMsg, okSpam},
		{"symbols 1.5", spamc("SYMBOLS SPAMC/1.5", "", spamMsg), "SPAMD/1.1 0 EX_OK\r\nContent-length: 10\r\nSpam: True ; 8.0 / 6.0\r\n\r\nBAYES_SPAM"},
		{"symbols 1.2", spamc("SYMBOLS SPAMC/1.2", "", spamMsg), "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 8.0 / 6.0\r\n\r\nBAYES_SPAM\r\n"},
		{"report as Exim sends it", spamc("REPORT SPAMC/1.2", "User: nobody\r\n", spamMsg), "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 8.0 / 6.0\r\n\r\n" + reportSpam},
		{"report 1.5", spamc("REPORT SPAMC/1.5", "", spamMsg), "SPAMD/1.1 0 EX_OK\r\nContent-length: " + itoa(len(reportSpam)) + "\r\nSpam: True ; 8.0 / 6.0\r\n\r\n" + reportSpam},
		{"report_ifspam spam", spamc("REPORT_IFSPAM SPAMC/1.5", "", spamMsg), "SPAMD/1.1 0 EX_OK\r\nContent-length: " + itoa(len(reportSpam)) + "\r\nSpam: True ; 8.0 / 6.0\r\n\r\n" + reportSpam},
		{"report_ifspam ham", spamc("REPORT_IFSPAM SPAMC/1.5", "", hamMsg), "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: False ; -4.0 / 6.0\r\n\r\n"},
		{"process strips forged X-Spam fields", spamc("PROCESS SPAMC/1.5", "", hamMsg),
			"SPAMD/1.1 0 EX_OK\r\nContent-length: " + itoa(len(hamHead)+len("See you at noon\r\n")) + "\r\nSpam: False ; -4.0 / 6.0\r\n\r\n" + hamHead + "See you at noon\r\n"},
		{"headers", spamc("HEADERS SPAMC/1.5", "", hamMsg), "SPAMD/1.1 0 EX_OK\r\nContent-length: " + itoa(len(hamHead)) + "\r\nSpam: False ; -4.0 / 6.0\r\n\r\n" + hamHead},
		{"process LF message", spamc("PROCESS SPAMC/1.5", "", "Subject: x\n\nviagra\n"),
			"SPAMD/1.1 0 EX_OK\r\nContent-length: 159\r\nSpam: True ; 8.0 / 6.0\r\n\r\nSubject: x\nX-Spam-Flag: YES\n" +
				"X-Spam-Status: Yes, score=8.0 required=6.0 tests=BAYES_SPAM\nX-Spam-Score: 8.00\nX-Spam-Level: ********\nX-Spam-Bar: ++++++++\n\nviagra\n"},
		{"skip", "SKIP SPAMC/1.5\r\n\r\n", ""},
		{"connect and close", "", ""},

		{"tell learns", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: spam\r\nSet: local\r\nUser: alice\r\n", spamMsg), "SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\n\r\n\r\n"},
		{"tell again: already learned", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: spam\r\nSet: local\r\n", spamMsg), "SPAMD/1.1 0 EX_OK\r\n\r\n\r\n"},
		{"tell the other class: relearned", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: ham\r\nSet: local, remote\r\nRemove: local\r\n", spamMsg),
			"SPAMD/1.1 0 EX_OK\r\nDidSet: local\r\nDidRemove: local\r\n\r\n\r\n"},
		{"tell remote only", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: ham\r\nSet: remote\r\n", spamMsg), "SPAMD/1.1 0 EX_OK\r\n\r\n\r\n"},
		{"tell busy", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: ham\r\nSet: local\r\n", "Subject: busy\r\n\r\nx\r\n"), "SPAMD/1.0 75 EX_TEMPFAIL statistics busy, try again later\r\n"},
		{"tell not a message", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: ham\r\nSet: local\r\n", "nomail"), "SPAMD/1.0 65 EX_DATAERR input is not a mail message\r\n"},
		{"tell forget", spamc("TELL SPAMC/1.3", "Password: pw\r\nRemove: local\r\n", "Subject: forget me\r\n\r\nnever learned\r\n"), "SPAMD/1.1 0 EX_OK\r\n\r\n\r\n"},
		{"tell without Set or Remove", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: spam\r\n", spamMsg), "SPAMD/1.0 76 EX_PROTOCOL TELL needs a Set or Remove header\r\n"},
		{"tell Set without class", spamc("TELL SPAMC/1.3", "Password: pw\r\nSet: local\r\n", spamMsg), "SPAMD/1.0 76 EX_PROTOCOL TELL with Set needs a Message-class\r\n"},
		{"tell bad class", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: eggs\r\nSet: local\r\n", spamMsg), "SPAMD/1.0 76 EX_PROTOCOL bad Message-class \"eggs\"\r\n"},
		{"tell bad Set", spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: spam\r\nSet: galaxy\r\n", spamMsg), "SPAMD/1.0 76 EX_PROTOCOL bad Set \"galaxy\"\r\n"},

		{"not a message", spamc("CHECK SPAMC/1.5", "", "nomail"), "SPAMD/1.0 65 EX_DATAERR input is not a mail message\r\n"},
		{"unknown verb", spamc("FROB SPAMC/1.5", "", spamMsg), "SPAMD/1.0 76 EX_PROTOCOL unknown verb \"FROB\"\r\n"},
		{"bad verb characters", "CH-ECK SPAMC/1.5\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL bad verb \"CH-ECK\"\r\n"},
		{"unknown protocol", "CHECK FOO/1.5\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL unknown protocol \"FOO\"\r\n"},
		{"version 2", "CHECK SPAMC/2.0\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL unsupported protocol version \"2.0\"\r\n"},
		{"no version", "CHECK\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL bad request line \"CHECK\"\r\n"},
		{"bad header line", "CHECK SPAMC/1.5\r\nno colon here\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL bad header line \"no colon here\"\r\n"},
		{"bad Content-length", "CHECK SPAMC/1.5\r\nContent-length: abc\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL bad Content-length \"abc\"\r\n"},
		{"negative Content-length", "CHECK SPAMC/1.5\r\nContent-length: -1\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL bad Content-length \"-1\"\r\n"},
		{"conflicting Content-length", "CHECK SPAMC/1.5\r\nContent-length: 1\r\nContent-length: 2\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL bad Content-length \"2\"\r\n"},
		{"message cut short", "CHECK SPAMC/1.5\r\nContent-length: 100\r\n\r\nSubject: x\r\n",
			"SPAMD/1.0 74 EX_IOERR request cut short: spamd: read message: 12 of 100 bytes: unexpected EOF\r\n"},
		{"headers cut short", "CHECK SPAMC/1.5\r\nUser: x", "SPAMD/1.0 74 EX_IOERR request cut short: spamd: read header: unexpected EOF\r\n"},
		{"request line without end", "CHECK SPAMC/1.5", "SPAMD/1.0 74 EX_IOERR request cut short: unexpected EOF\r\n"},
		{"request line too long", "CHECK " + strings.Repeat("x", 9000) + "\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL request line longer than 8192 bytes\r\n"},
		{"header line too long", "CHECK SPAMC/1.5\r\nUser: " + strings.Repeat("x", 9000) + "\r\n\r\n", "SPAMD/1.0 76 EX_PROTOCOL header line longer than 8192 bytes\r\n"},
		{"too many headers", "CHECK SPAMC/1.5\r\n" + strings.Repeat("X: y\r\n", 1025) + "\r\n", "SPAMD/1.0 76 EX_PROTOCOL more than 1024 header lines\r\n"},
		{"unknown compression", spamc("CHECK SPAMC/1.5", "Compress: lzma\r\n", spamMsg), "SPAMD/1.0 76 EX_PROTOCOL unknown Compress \"lzma\"\r\n"},
		{"bad zlib", spamc("CHECK SPAMC/1.5", "Compress: zlib\r\n", spamMsg), "SPAMD/1.0 65 EX_DATAERR bad zlib message: zlib: invalid header\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exchange(t, addr, tt.req); got != tt.want {
				t.Fatalf("reply\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	if len(fl.calls) == 0 || fl.calls[0] != "alice" {
		t.Errorf("the first TELL's User did not reach the learner: %q", fl.calls)
	}
}

// Without a learner, TELL is refused and scanning still works.
func TestSpamdNoLearner(t *testing.T) {
	_, addr := startServer(t, Options{})
	got := exchange(t, addr, spamc("TELL SPAMC/1.3", "Password: pw\r\nMessage-class: spam\r\nSet: local\r\n", spamMsg))
	if want := "SPAMD/1.0 69 EX_UNAVAILABLE learning is disabled on this server\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := exchange(t, addr, spamc("CHECK SPAMC/1.5", "", spamMsg)); got != okSpam {
		t.Fatalf("got %q", got)
	}
}

// TestFieldsAreSpamheaders checks that PROCESS and HEADERS write,
// byte for byte and in order, spamheader's rendering of the verdict (the
// milter has the same test), after the message's own fields minus forged
// copies of ours.
func TestFieldsAreSpamheaders(t *testing.T) {
	for _, o := range []spamheader.Options{{}, {Report: true, SpamdResult: true, Spam: true}, {SpamdResult: true}} {
		fieldsAreSpamheaders(t, o)
	}
}

func fieldsAreSpamheaders(t *testing.T, o spamheader.Options) {
	_, addr := startServer(t, Options{Headers: o})
	forged := "From: c@example.org\r\nX-Spam-Level: ****\r\nX-Spam-Report: theirs\r\n\tcontinued\r\n" +
		"X-Spamd-Result: default: False [0.00 / 15.00];\r\n SOME(0.00)[]\r\nX-Spam: Yes\r\n\r\nreject-me\r\n"
	for _, msg := range []string{spamMsg, hamMsg, forged} {
		v, err := fakeScanner{}.Scan(context.Background(), strings.NewReader(msg), scan.Request{})
		if err != nil {
			t.Fatal(err)
		}
		fields := string(o.Append(nil, v, "\r\n"))
		head, body, _ := strings.Cut(msg, "\r\n\r\n")
		var kept strings.Builder
		skipping := false
		for _, line := range strings.SplitAfter(head+"\r\n", "\r\n") {
			if line == "" {
				continue
			}
			if line[0] != ' ' && line[0] != '\t' {
				name, _, _ := strings.Cut(line, ":")
				skipping = o.Is(name)
			}
			if !skipping {
				kept.WriteString(line)
			}
		}
		want := kept.String() + fields + "\r\n" + body
		reply := exchange(t, addr, spamc("PROCESS SPAMC/1.5", "", msg))
		if _, got, _ := strings.Cut(reply, "\r\n\r\n"); got != want {
			t.Errorf("%+v: PROCESS wrote\n%q\nwant\n%q", o, got, want)
		}
		reply = exchange(t, addr, spamc("HEADERS SPAMC/1.5", "", msg))
		if _, got, _ := strings.Cut(reply, "\r\n\r\n"); got != kept.String()+fields+"\r\n" {
			t.Errorf("HEADERS wrote\n%q\nwant\n%q", got, kept.String()+fields+"\r\n")
		}
	}
}
