package config

import (
	"bytes"
	"reflect"
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
		{name: "empty file gives defaults", in: "", check: func(c Config) bool { return reflect.DeepEqual(c, Default()) }},
		{name: "overrides", in: "data_dir = \"/var/lib/sluice\"\n[tokenizer]\nwindow = 2\nmax_bytes = \"5MiB\"\nmax_time = \"500ms\"\n",
			check: func(c Config) bool {
				return c.DataDir == "/var/lib/sluice" && c.Tokenizer.Window == 2 && c.Tokenizer.MaxBytes == 5<<20 &&
					c.Tokenizer.MaxTime.D() == 500*time.Millisecond && c.Classifier.MinTokens == 11
			}},
		{name: "size in bytes", in: "[statfile]\nmax_size = \"2097152B\"\n", check: func(c Config) bool { return c.Statfile.MaxSize == 2<<20 }},
		{name: "trusted relays", in: "[tokenizer]\ntrusted_networks = \"192.0.2.0/24, 2001:db8::/32\"\ntrusted_hosts = \"MX.Example.com.\"\n",
			check: func(c Config) bool {
				n, _ := c.Tokenizer.Networks()
				h := c.Tokenizer.Hosts()
				return len(n) == 2 && n[0].String() == "192.0.2.0/24" && len(h) == 1 && h[0] == "mx.example.com"
			}},
		{name: "bad trusted network", in: "[tokenizer]\ntrusted_networks = \"192.0.2.0/33\"\n", wantErr: "tokenizer.trusted_networks"},
		{name: "bad trusted host", in: "[tokenizer]\ntrusted_hosts = \"a@b\"\n", wantErr: "tokenizer.trusted_hosts"},
		{name: "unknown key", in: "[classifier]\nmin_tokens = 3\nmin_tokenz = 4\n", wantErr: "sluice.toml:3: unknown key \"classifier.min_tokenz\""},
		{name: "unknown section", in: "\n[bogus]\nx = 1\n", wantErr: "sluice.toml:2: unknown key \"bogus\""},
		{name: "wrong type", in: "[tokenizer]\nwindow = \"two\"\n", wantErr: "sluice.toml:2: tokenizer.window"},
		{name: "bad size", in: "[statfile]\n\nmax_size = \"lots\"\n", wantErr: "sluice.toml:3: statfile.max_size"},
		{name: "bad duration", in: "[tokenizer]\nmax_time = \"soon\"\n", wantErr: "sluice.toml:2: tokenizer.max_time"},
		{name: "syntax error", in: "[tokenizer\n", wantErr: "sluice.toml:1:"},
		{name: "out of range", in: "[tokenizer]\nwindow = 9\n", wantErr: "tokenizer.window: 9 is not between 1 and 8"},
		{name: "bad enum", in: "[log]\nlevel = \"loud\"\n", wantErr: "log.level"},
		{name: "not power of two", in: "[statfile]\ninitial_slots = 3000\n", wantErr: "statfile.initial_slots"},
		{name: "profile overrides some thresholds", in: "[actions]\nreject = 20\n[profiles.finance]\nrecipients = [\"@finance.example.com\"]\nreject = 10\ngreylist = 0\n",
			check: func(c Config) bool {
				f, d := c.ProfileActions("finance"), c.ProfileActions("")
				return f.Reject == 10 && f.AddHeader == Default().Actions.AddHeader && f.Greylist == 0 && d.Reject == 20 &&
					c.ProfileActions("unknown") == d && len(c.ProfileNames()) == 1
			}},
		{name: "profile name", in: "[profiles.Finance]\nrecipients = [\"x@y\"]\n", wantErr: "profiles.Finance: a profile name"},
		{name: "profile named default", in: "[profiles.default]\n", wantErr: "profiles.default: a profile name"},
		{name: "recipient in two profiles", in: "[profiles.a]\nrecipients = [\"@x.example\"]\n[profiles.b]\nrecipients = [\"@X.example\"]\n",
			wantErr: "profiles.b.recipients: \"@X.example\" is already in profile \"a\""},
		{name: "bad recipient", in: "[profiles.a]\nrecipients = [\"a@b@c\"]\n", wantErr: "profiles.a.recipients"},
		{name: "negative profile threshold", in: "[profiles.a]\nreject = -1\n", wantErr: "profiles.a: thresholds must not be negative"},
		{name: "unknown profile key", in: "[profiles.a]\nrejekt = 1\n", wantErr: "unknown key \"profiles.a.rejekt\""},
		{name: "lists", in: "data_dir = \"/var/lib/sluice\"\n[lists.allow_sender]\nmatch = \"sender\"\nscore = -20\nentries = [\"Boss@Partner.example\", \"@bank.example\"]\nfile = \"allow.txt\"\n" +
			"[lists.block-client]\nmatch = \"client\"\nsymbol = \"BAD_NET\"\nscore = 20\nfile = \"/etc/sluice/block\"\n",
			check: func(c Config) bool {
				return len(c.ListNames()) == 2 && c.ListSymbol("allow_sender") == "ALLOW_SENDER" && c.ListSymbol("block-client") == "BAD_NET" &&
					c.ListFile("allow_sender") == "/var/lib/sluice/allow.txt" && c.ListFile("block-client") == "/etc/sluice/block" &&
					c.ListKind("block-client").String() == "client"
			}},
		{name: "list match", in: "[lists.a]\nmatch = \"from\"\nscore = 1\nentries = [\"x.example\"]\n", wantErr: "lists.a.match: \"from\" is not sender, recipient or client"},
		{name: "list entry", in: "[lists.a]\nmatch = \"client\"\nscore = 1\nentries = [\"x.example\"]\n", wantErr: "lists.a.entries: \"x.example\" is not an IP address"},
		{name: "list score 0", in: "[lists.a]\nmatch = \"sender\"\nentries = [\"x.example\"]\n", wantErr: "lists.a.score: must be a number other than 0"},
		{name: "list without entries", in: "[lists.a]\nmatch = \"sender\"\nscore = 1\n", wantErr: "lists.a: has neither entries nor a file"},
		{name: "list symbols collide", in: "[lists.a]\nmatch = \"sender\"\nscore = 1\nsymbol = \"B\"\nentries = [\"x.example\"]\n[lists.b]\nmatch = \"sender\"\nscore = 1\nentries = [\"y.example\"]\n",
			wantErr: "lists.b.symbol: B is already list \"a\"'s"},
		{name: "list symbol of a rule", in: "[lists.a]\nmatch = \"sender\"\nscore = 1\nsymbol = \"MISSING_MID\"\nentries = [\"x.example\"]\n",
			wantErr: "lists.a.symbol: MISSING_MID is a symbol of Bayes, the network or a rule"},
		{name: "list symbol of Bayes", in: "[lists.bayes_ham]\nmatch = \"sender\"\nscore = -1\nentries = [\"x.example\"]\n",
			wantErr: "lists.bayes_ham.symbol: BAYES_HAM is a symbol"},
		{name: "unknown list key", in: "[lists.a]\nmatch = \"sender\"\nscore = 1\nentry = [\"x\"]\n", wantErr: "sluice.toml:4: unknown key \"lists.a.entry\""},
		{name: "list score type", in: "[lists.a]\nmatch = \"sender\"\nscore = \"high\"\n", wantErr: "sluice.toml:3: lists.a.score"},
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
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("round trip changed the defaults:\n%+v\n%+v", c, Default())
	}
	if !strings.Contains(b.String(), "# Bayes stays silent") {
		t.Fatalf("printed defaults lack their comments:\n%s", b.String())
	}
}

func TestLoadNoFile(t *testing.T) {
	c, err := Load("")
	if err != nil || !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load(\"\") = %+v, %v", c, err)
	}
	if _, err := Load("/nonexistent/sluice.toml"); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestMilterSection(t *testing.T) {
	good := "[milter]\nlisten = \"unix:/run/sluice/milter.sock\"\nsocket_mode = \"0600\"\nmax_size = \"1MiB\"\n" +
		"trusted_networks = \"10.0.0.0/8, 192.0.2.1 2001:db8::/32\"\nreject_message = \"554 5.7.1 No thanks\"\nquarantine = true\n"
	c, err := Parse("sluice.toml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if mode, _ := c.Milter.Mode(); mode != 0o600 || c.Milter.MaxSize != 1<<20 || !c.Milter.Quarantine {
		t.Fatalf("unexpected milter config %+v", c.Milter)
	}
	nets, err := c.Milter.Networks()
	if err != nil || len(nets) != 3 || nets[1].String() != "192.0.2.1/32" {
		t.Fatalf("networks = %v, %v", nets, err)
	}
	for _, bad := range []struct{ in, want string }{
		{"listen = \"tcp:1\"", "milter.listen"},
		{"listen = \"unix:relative.sock\"", "absolute path"},
		{"listen = \"inet:127.0.0.1\"", "milter.listen"},
		{"socket_mode = \"rw\"", "milter.socket_mode"},
		{"default_action = \"drop\"", "milter.default_action"},
		{"reject_message = \"451 4.7.1 later\"", "milter.reject_message"},
		{"reject_message = \"550 4.7.1 mixed\"", "milter.reject_message"},
		{"greylist_message = \"550 5.7.1 no\"", "milter.greylist_message"},
		{"subject_template = \"[SPAM]\"", "milter.subject_template"},
		{"trusted_networks = \"10.0.0.0/33\"", "milter.trusted_networks"},
		{"idle_timeout = \"0s\"", "milter.idle_timeout"},
	} {
		_, err := Parse("sluice.toml", []byte("[milter]\n"+bad.in+"\n"))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want %q", bad.in, err, bad.want)
		}
	}
}

func TestNeuralProfileFile(t *testing.T) {
	tests := []struct{ file, profile, want string }{
		{"neural.nn", "", "neural.nn"},
		{"neural.nn", "finance", "neural.finance.nn"},
		{"/var/lib/sluice/net.v2.nn", "kids", "/var/lib/sluice/net.v2.kids.nn"},
		{"weights", "kids", "weights.kids"},
		{"dir.d/weights", "kids", "dir.d/weights.kids"},
	}
	for _, tt := range tests {
		if got := (Neural{File: tt.file}).ProfileFile(tt.profile); got != tt.want {
			t.Errorf("ProfileFile(%q, %q) = %q, want %q", tt.file, tt.profile, got, tt.want)
		}
	}
}
