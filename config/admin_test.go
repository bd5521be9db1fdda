package config

import (
	"strings"
	"testing"
)

// TestAdminErrors: what an admin reads for each mistake of issue 15: the
// file and line, the key, what was written and what is expected; never a
// Go type name nor a "config:" stutter.
func TestAdminErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"duration without unit", "[milter]\nidle_timeout = 300\n",
			[]string{`sluice.toml:2: milter.idle_timeout: 300 has no unit: write a duration such as "300s"`}},
		{"float duration without unit", "[tokenizer]\n\nmax_time = 1.5\n",
			[]string{`sluice.toml:3: tokenizer.max_time: 1.5 has no unit`}},
		{"size without unit", "[spamd]\nmax_size = 1048576\n",
			[]string{`sluice.toml:2: spamd.max_size: 1048576 has no unit: write a size such as "1048576B"`}},
		{"string for a number", "[actions]\nreject = \"high\"\n",
			[]string{`sluice.toml:2: actions.reject: "high" is not a number`}},
		{"number for a string", "[milter]\n\nlisten = 7357\n",
			[]string{`sluice.toml:3: milter.listen: 7357 is not a string in quotes`}},
		{"string for a bool", "[rules]\nenabled = \"yes\"\n",
			[]string{`sluice.toml:2: rules.enabled: "yes" is not true or false`}},
		{"validation error has a line", "# comment\n[log]\nlevel = \"loud\"\n",
			[]string{`sluice.toml:3: log.level: "loud" is not debug`}},
		{"every unknown key", "[classifier]\nmin_tokenz = 1\nmin_learnz = 2\n",
			[]string{`sluice.toml:2: unknown key "classifier.min_tokenz"`, `sluice.toml:3: unknown key "classifier.min_learnz"`}},
		{"bad duration text", "[milter]\nread_timeout = \"soon\"\n",
			[]string{`sluice.toml:2: milter.read_timeout: "soon" is not a duration`}},
		{"add_header above reject", "[actions]\nadd_header = 20\nreject = 10\n",
			[]string{`sluice.toml:3: actions.reject: actions.add_header = 20 must be below actions.reject = 10`}},
		{"greylist above reject", "[actions]\ngreylist = 16\nreject = 15\n",
			[]string{`sluice.toml:3: actions.reject: actions.greylist = 16 must be below actions.reject = 15`}},
		{"rewrite_subject below the default add_header", "[actions]\nrewrite_subject = 0.3\n", // the line of the key the file sets
			[]string{`sluice.toml:2: actions.rewrite_subject: actions.add_header = `, `must be below actions.rewrite_subject = 0.3`}},
		{"profile reject below add_header", "[actions]\nadd_header = 6\n[profiles.finance]\nrecipients = [\"@f.example\"]\nreject = 5\n",
			[]string{`sluice.toml:5: profiles.finance.reject: actions.add_header = 6 (from [actions], for profile finance) must be below profiles.finance.reject = 5`}},
		{"profile add_header above [actions] reject", "[actions]\nreject = 15\n[profiles.kids]\nadd_header = 16\n",
			[]string{`sluice.toml:4: profiles.kids.add_header: profiles.kids.add_header = 16 must be below actions.reject = 15 (from [actions], for profile kids)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("sluice.toml", []byte(tt.in))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\nwant it to contain\n%s", msg, w)
				}
			}
			for _, bad := range []string{"config.", "float64", "int64", "config: ", "toml: ", "of type"} {
				if strings.Contains(msg, bad) {
					t.Errorf("error %q contains %q", msg, bad)
				}
			}
		})
	}
}

func TestThresholdsAllowed(t *testing.T) {
	for _, in := range []string{
		"[actions]\nadd_header = 5\nrewrite_subject = 8\ngreylist = 7\nreject = 12\n",
		"[actions]\nadd_header = 0\nreject = 3\n",                                        // add_header off
		"[actions]\nreject = 0\nadd_header = 30\n",                                       // reject off
		"[actions]\nadd_header = 6\n[profiles.a]\nrecipients = [\"a@b\"]\nreject = 10\n", // above [actions] add_header
	} {
		if _, err := Parse("sluice.toml", []byte(in)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestListenOff(t *testing.T) {
	c, err := Parse("sluice.toml", []byte("[spamd]\nlisten = \"off\"\n[learner]\nhttp_listen = \"off\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Spamd.Listen != Off || c.Learner.HTTPListen != "" {
		t.Fatalf("spamd.listen = %q, learner.http_listen = %q", c.Spamd.Listen, c.Learner.HTTPListen)
	}
}

func TestPath(t *testing.T) {
	t.Setenv(PathEnv, "/srv/sluice.toml")
	if got := Path("/tmp/flag.toml"); got != "/tmp/flag.toml" {
		t.Errorf("flag: %q", got)
	}
	if got := Path(""); got != "/srv/sluice.toml" {
		t.Errorf("env: %q", got)
	}
	t.Setenv(PathEnv, "")
	if got := Path(""); got != "" {
		t.Errorf("empty env: %q, want the embedded defaults", got)
	}
}
