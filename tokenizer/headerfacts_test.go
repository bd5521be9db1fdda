package tokenizer

import "testing"

func TestHeaderFacts(t *testing.T) {
	msg := "Received: from relay.collector.example by mx.collector.example\n" +
		"Delivered-To: someone@collector.example\n" +
		"X-Spam-Status: No, score=-2.0\n" +
		"From: \"Ann\" <ann@mail.Lists.Example.co.uk>\n" +
		"Reply-To: offers@elsewhere.example\n" +
		"To: a@x.example, b@y.example\n" +
		"Cc: c@z.example\n" +
		"List-Id: <talk.lists.example.org>\n" +
		"In-Reply-To: <1@lists.example.co.uk>\n" +
		"Precedence: bulk\n" +
		"Message-ID: <123@host.Example.org>\n" +
		"Subject: hello\n\nbody text\n"
	got := texts(tokenize(t, Options{}, msg))
	for _, want := range []string{"#h:from", "#h:list-id", "#h:in-reply-to", "#h:precedence", "#from-dom:example.co.uk",
		"#msgid-dom:example.org", "#reply-to:other", "#rcpts:3", "#prec:bulk"} {
		if _, ok := got[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
	for _, absent := range []string{"#h:received", "#h:delivered-to", "#h:x-spam-status", "#to:none"} {
		if _, ok := got[absent]; ok {
			t.Errorf("per-delivery or wrong fact %s present", absent)
		}
	}
}

func TestAddrDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ann <ann@Mail.Example.COM>", "example.com"},
		{"bob@example.org (Bob)", "example.org"},
		{"<x@[192.0.2.1]>", "ip"},
		{"no address here", ""},
		{"weird@bad_host!", ""},
	}
	for _, tt := range tests {
		if got := addrDomain(tt.in); got != tt.want {
			t.Errorf("addrDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
