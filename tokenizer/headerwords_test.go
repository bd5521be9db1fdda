package tokenizer

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseReceived(t *testing.T) {
	tests := []struct {
		in   string
		want hop
	}{
		{"from ratree.psu.ac.th ([202.28.97.6]) by mx1.example.org (8.11.6/8.11.6) with SMTP id g7MBIhl25223",
			hop{ip: netip.MustParseAddr("202.28.97.6"), helo: "ratree.psu.ac.th", by: "mx1.example.org"}},
		{"from listman.example.com (listman.example.com [66.187.233.211]) by dogma.example.org (8.11.6/8.11.6) with ESMTP id g7MBYrZ04811",
			hop{ip: netip.MustParseAddr("66.187.233.211"), rdns: "listman.example.com", helo: "listman.example.com", by: "dogma.example.org"}},
		{"from HELO.Example.NET (route-64-131-126-36.telocity.com [64.131.126.36]) by x.example.org",
			hop{ip: netip.MustParseAddr("64.131.126.36"), rdns: "route-64-131-126-36.telocity.com", helo: "helo.example.net", by: "x.example.org"}},
		{"from unknown (HELO mail.example.net) (10.1.2.3) by mx.example.org with SMTP",
			hop{ip: netip.MustParseAddr("10.1.2.3"), helo: "mail.example.net", by: "mx.example.org"}},
		{"from [198.51.100.7] (helo=Spammer) by mx.example.org with esmtp (Exim 4.96)",
			hop{ip: netip.MustParseAddr("198.51.100.7"), helo: "spammer", by: "mx.example.org"}},
		{"(from mail@localhost) by int-mx1.example.com (8.11.6/8.11.6) id g7MBY7g11259",
			hop{by: "int-mx1.example.com"}},
		{"from phobos [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0)",
			hop{ip: netip.MustParseAddr("127.0.0.1"), helo: "phobos", by: "localhost"}},
		{"from x ([IPv6:2001:db8::1]) by mx.example.org",
			hop{ip: netip.MustParseAddr("2001:db8::1"), helo: "x", by: "mx.example.org"}},
		{"from mx01.example.net (61.11.238.243 [61.11.238.243]) by centa.example.cn with SMTP (Microsoft Exchange 5.5.2653.13)",
			hop{ip: netip.MustParseAddr("61.11.238.243"), helo: "mx01.example.net", by: "centa.example.cn"}},
		{"garbage ((([[[", hop{}},
		{"", hop{}},
	}
	for _, tt := range tests {
		if got := parseReceived(tt.in); got != tt.want {
			t.Errorf("parseReceived(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestRelayTokens(t *testing.T) {
	const chain = "Received: from localhost (localhost [127.0.0.1]) by store.site.example (Postfix) with ESMTP id 1\n" +
		"Received: from mx2.site.example (mx2.site.example [203.0.113.9]) by store.site.example with ESMTP id 2\n" +
		"Received: from gw (gw.corp.example [198.51.100.20]) by mx2.site.example with ESMTP id 3\n" +
		"Received: from sender.example.net (sender.example.net [192.0.2.77]) by gw.corp.example with SMTP id 4\n" +
		"From: a@b.example\nSubject: x\n\nbody\n"
	tests := []struct {
		name string
		opts Options
		want []string
		not  []string
	}{
		{"own domain of the topmost by is trusted", Options{},
			[]string{"H*relay-ip:198.51.100.20", "H*relay-net:198.51.100.0/24", "H*relay-rdns:gw.corp.example", "H*relay-rdom:corp.example", "H*relay-helo:gw",
				"H*relay2-ip:192.0.2.77", "H*relay2-net:192.0.2.0/24", "H*relay2-rdom:example.net"},
			[]string{"H*relay-ip:203.0.113.9", "H*relay-ip:192.0.2.77", "H*relay-ip:127.0.0.1", "H*relay2-ip:203.0.113.9"}},
		{"trusted network", Options{TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
			[]string{"H*relay-ip:192.0.2.77", "H*relay-rdns:sender.example.net", "H*relay-helo:sender.example.net"},
			[]string{"H*relay-ip:198.51.100.20", "H*relay2-ip:198.51.100.20"}},
		{"trusted host", Options{TrustedHosts: []string{"corp.example"}},
			[]string{"H*relay-ip:192.0.2.77"}, []string{"H*relay-ip:198.51.100.20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Explain = true
			got := texts(tokenize(t, tt.opts, chain))
			for _, w := range tt.want {
				if _, ok := got[w]; !ok {
					t.Errorf("missing %s", w)
				}
			}
			for _, w := range tt.not {
				if _, ok := got[w]; ok {
					t.Errorf("unexpected %s", w)
				}
			}
		})
	}
}

func TestHeaderWords(t *testing.T) {
	msg := "From: \"Ann\" <Ann@Mail.Example.co.uk>\n" +
		"To: bob@x.example, =?utf-8?q?J=C3=BCrgen?= <j@y.example>\n" +
		"List-Id: Example Talk <talk.lists.example.org>\n" +
		"Content-Type: text/plain; charset=\"ISO-8859-1\"\n" +
		"Date: Thu, 22 Aug 2002 16:11:27 -0700\n" +
		"X-Unknown: secret\n" +
		"Subject: hello\n\nbody text\n"
	got := texts(tokenize(t, Options{Explain: true}, msg))
	for _, want := range []string{"H*from:ann@mail.example.co.uk", "H*from@:ann@mail.example.co.uk", "H*from@dom:example.co.uk",
		"H*to:jürgen", "H*to@:bob@x.example", "H*to@dom:y.example", "H*list-id:talk.lists.example.org", "H*list-id:talk",
		"H*content-type:iso-8859-1"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "H*date") || strings.HasPrefix(k, "H*x-unknown") || strings.HasPrefix(k, "H*subject") {
			t.Errorf("unexpected %s", k)
		}
	}
}

// Hostile headers: tens of thousands of fields and Received hops give a
// bounded number of tokens.
func TestHeaderWordsBounded(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		b.WriteString("Received: from h (h.example.net [192.0.2.")
		b.WriteString(strings.Repeat("1", 1+i%3))
		b.WriteString("]) by own.example\n")
		b.WriteString("To: a")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString("@b.example, c@d.example\n")
	}
	b.WriteString("Subject: x\n\nbody\n")
	res := tokenize(t, Options{Explain: true}, b.String())
	n := 0
	for _, s := range res.Text {
		if strings.HasPrefix(s, "H*") {
			n++
		}
	}
	if n == 0 || n > maxHdrTokens+3*8+8 {
		t.Errorf("%d header tokens from a hostile header", n)
	}
}
