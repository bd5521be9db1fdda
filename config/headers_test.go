package config

import (
	"strings"
	"testing"
)

func TestHeadersSection(t *testing.T) {
	if d := Default().Headers; d != (Headers{}) {
		t.Fatalf("optional header fields on by default: %+v", d)
	}
	for _, tt := range []struct {
		name, in, err string
		want          Headers
	}{
		{"all", "[headers]\nreport = true\nspamd_result = true\nx_spam = true\n", "", Headers{Report: true, SpamdResult: true, Spam: true}},
		{"rspamd's pair", "[headers]\nspamd_result = true\nx_spam = true\n", "", Headers{SpamdResult: true, Spam: true}},
		{"unknown key", "[headers]\nx_spamd_bar = true\n", "sluice.toml:2", Headers{}},
		{"not a bool", "[headers]\nreport = \"yes\"\n", "sluice.toml:2", Headers{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("sluice.toml", []byte(tt.in))
			switch {
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			case tt.err == "" && c.Headers != tt.want:
				t.Fatalf("parsed %+v, want %+v", c.Headers, tt.want)
			}
		})
	}
}
