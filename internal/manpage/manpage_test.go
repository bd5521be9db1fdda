package manpage

import (
	"strings"
	"testing"
)

const overview = `usage: sluice COMMAND [flags] [args]

commands:
  tokens   print the words and tokens of a message
  serve    run milter, learner and spamd listener in one process (start here)
  learn    learn messages as spam or ham

Every command takes --config FILE and --data-dir DIR.
`

func TestParseOverview(t *testing.T) {
	tests := []struct {
		name, help string
		want       []Command
	}{
		{"sluice help", overview, []Command{
			{Name: "tokens", Summary: "print the words and tokens of a message"},
			{Name: "serve", Summary: "run milter, learner and spamd listener in one process (start here)"},
			{Name: "learn", Summary: "learn messages as spam or ham"},
		}},
		{"no command list", "usage: x\n  not a command\n", nil},
		{"name without summary", "commands:\n  version\n\n", []Command{{Name: "version"}}},
		{"blank line before the list", "commands:\n\n  a  one\n  b  two\ntail\n  c  not listed\n", []Command{{"a", "one", ""}, {"b", "two", ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseOverview(tc.help)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d commands %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("command %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestWrite(t *testing.T) {
	p := Page{
		Name: "sluice", Version: "sluice 1.0", Date: "2026-12-04", Description: "spam filter",
		Overview: overview,
		Commands: []Command{{Name: "learn", Summary: "learn messages", Help: "usage: sluice learn\n  -json\n    \tprint JSON\n.dangerous request\n'another\nback\\slash"}},
		Files:    [][2]string{{"/etc/sluice/sluice.toml", "the configuration"}},
		SeeAlso:  []string{"postconf(5)", "dovecot(1)"},
	}
	var b strings.Builder
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`.TH SLUICE 1 "2026\-12\-04" "sluice 1.0" "User Commands"` + "\n",
		".SH NAME\nsluice \\- spam filter\n",
		".SS learn\nlearn messages\n.PP\n.nf\nusage: sluice learn\n  \\-json\n            print JSON\n",
		"\\&.dangerous request\n",
		"\\&'another\n",
		"back\\eslash\n",
		".TP\n.I /etc/sluice/sluice.toml\nthe configuration\n",
		".BR postconf (5),\n.BR dovecot (1)\n",
		"  serve    run milter",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q:\n%s", want, out)
		}
	}
	// Every line that starts a request is one Write meant: no help line
	// may begin with '.' or '\'' unescaped.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, ".") {
			req, _, _ := strings.Cut(line, " ")
			switch req {
			case ".TH", ".SH", ".SS", ".PP", ".nf", ".fi", ".TP", ".I", ".B", ".BR", ".RI":
			default:
				t.Errorf("unexpected request line %q", line)
			}
		}
		if strings.HasPrefix(line, "'") {
			t.Errorf("control line %q", line)
		}
	}
}
