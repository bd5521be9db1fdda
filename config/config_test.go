package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		check   func(Config) bool
		wantErr string
	}{
		{name: "empty file gives defaults", in: "", check: func(c Config) bool { return c == Default() }},
		{name: "overrides", in: "data_dir = \"/var/lib/sluice\"\n[tokenizer]\nwindow = 2\nmax_bytes = \"5MiB\"\nmax_time = \"500ms\"\n",
			check: func(c Config) bool {
				return c.DataDir == "/var/lib/sluice" && c.Tokenizer.Window == 2 && c.Tokenizer.MaxBytes == 5<<20 &&
					c.Tokenizer.MaxTime.D() == 500*time.Millisecond && c.Classifier.MinTokens == 11
			}},
		{name: "size as integer", in: "[statfile]\nmax_size = 2097152\n", check: func(c Config) bool { return c.Statfile.MaxSize == 2<<20 }},
		{name: "unknown key", in: "[classifier]\nmin_tokens = 3\nmin_tokenz = 4\n", wantErr: "sluice.toml:3: unknown key \"classifier.min_tokenz\""},
		{name: "unknown section", in: "\n[bogus]\nx = 1\n", wantErr: "sluice.toml:2: unknown key \"bogus\""},
		{name: "wrong type", in: "[tokenizer]\nwindow = \"two\"\n", wantErr: "sluice.toml:2: tokenizer.window"},
		{name: "bad size", in: "[statfile]\n\nmax_size = \"lots\"\n", wantErr: "sluice.toml:3: statfile.max_size"},
		{name: "bad duration", in: "[tokenizer]\nmax_time = \"soon\"\n", wantErr: "sluice.toml:2: tokenizer.max_time"},
		{name: "syntax error", in: "[tokenizer\n", wantErr: "sluice.toml:1:"},
		{name: "out of range", in: "[tokenizer]\nwindow = 9\n", wantErr: "tokenizer.window: 9 is not between 1 and 8"},
		{name: "bad enum", in: "[log]\nlevel = \"loud\"\n", wantErr: "log.level"},
		{name: "not power of two", in: "[statfile]\ninitial_slots = 3000\n", wantErr: "statfile.initial_slots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("sluice.toml", []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config %+v", c)
			}
		})
	}
}

func TestDefaultsRoundTrip(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDefaults(&b); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("defaults", b.Bytes())
	if err != nil {
		t.Fatalf("the printed defaults do not parse: %v\n%s", err, b.String())
	}
	if c != Default() {
		t.Fatalf("round trip changed the defaults:\n%+v\n%+v", c, Default())
	}
	if !strings.Contains(b.String(), "# Bayes stays silent") {
		t.Fatalf("printed defaults lack their comments:\n%s", b.String())
	}
}

func TestLoadNoFile(t *testing.T) {
	c, err := Load("")
	if err != nil || c != Default() {
		t.Fatalf("Load(\"\") = %+v, %v", c, err)
	}
	if _, err := Load("/nonexistent/sluice.toml"); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}
