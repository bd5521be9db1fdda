package spamheader

import (
	"math"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/scan"
)

func TestFields(t *testing.T) {
	syms := []scan.Symbol{{Name: "BAYES_SPAM", Score: 5.1}, {Name: "MISSING_DATE", Score: 1}}
	for _, tc := range []struct {
		name string
		v    scan.Verdict
		want string
	}{
		{"spam", scan.Verdict{Score: 8.25, Required: 6, Action: scan.AddHeader, Symbols: syms},
			"X-Spam-Flag: YES\nX-Spam-Status: Yes, score=8.2 required=6.0 tests=BAYES_SPAM,MISSING_DATE\n" +
				"X-Spam-Score: 8.25\nX-Spam-Level: ********\nX-Spam-Bar: ++++++++\n"},
		// The action decides, not the score: a reject with the add-header
		// threshold off is spam, a high score with no action is not.
		{"reject without add header", scan.Verdict{Score: 16, Action: scan.Reject},
			"X-Spam-Flag: YES\nX-Spam-Status: Yes, score=16.0 required=0.0 tests=none\n" +
				"X-Spam-Score: 16.00\nX-Spam-Level: ****************\nX-Spam-Bar: ++++++++++++++++\n"},
		{"score over required, no action", scan.Verdict{Score: 7, Required: 6, Action: scan.NoAction},
			"X-Spam-Status: No, score=7.0 required=6.0 tests=none\nX-Spam-Score: 7.00\nX-Spam-Level: *******\nX-Spam-Bar: +++++++\n"},
		{"ham", scan.Verdict{Score: -4.02, Required: 6, Symbols: syms[:1]},
			"X-Spam-Status: No, score=-4.0 required=6.0 tests=BAYES_SPAM\nX-Spam-Score: -4.02\nX-Spam-Level: \nX-Spam-Bar: ----\n"},
		{"below one point", scan.Verdict{Score: 0.9, Required: 6},
			"X-Spam-Status: No, score=0.9 required=6.0 tests=none\nX-Spam-Score: 0.90\nX-Spam-Level: \nX-Spam-Bar: /\n"},
		{"capped", scan.Verdict{Score: 1e300, Required: 6, Action: scan.Reject},
			"X-Spam-Flag: YES\nX-Spam-Status: Yes,\n score=1"}, // folded
		// The scan pipeline never gives these; rendering must not panic.
		{"NaN", scan.Verdict{Score: math.NaN(), Required: 6},
			"X-Spam-Status: No, score=NaN required=6.0 tests=none\nX-Spam-Score: NaN\nX-Spam-Level: \nX-Spam-Bar: /\n"},
		{"-Inf", scan.Verdict{Score: math.Inf(-1), Required: 6},
			"X-Spam-Status: No, score=-Inf required=6.0 tests=none\nX-Spam-Score: -Inf\nX-Spam-Level: \nX-Spam-Bar: /\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Options{}.Append(nil, &tc.v, "\n"))
			if tc.name == "capped" {
				fs := Options{}.Fields(&tc.v)
				if !strings.HasPrefix(got, tc.want) || fs[3].Value != strings.Repeat("*", 50) || fs[4].Value != strings.Repeat("+", 50) {
					t.Fatalf("got\n%s", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			for _, f := range (Options{}).Fields(&tc.v) {
				if o := (Options{}); !o.Is(f.Name) || !o.Is(strings.ToLower(f.Name)) {
					t.Errorf("Is(%q) is false for a field Fields writes", f.Name)
				}
			}
		})
	}
	if o := (Options{}); o.Is("X-Spam-Report") || o.Is("Subject") {
		t.Error("Is claims a field Fields never writes")
	}
}

func TestOptionalFields(t *testing.T) {
	all := Options{Report: true, SpamdResult: true, Spam: true}
	syms := []scan.Symbol{{Name: "MISSING_DATE", Score: 1}, {Name: "BAYES_SPAM", Score: 5.1, Detail: "99.80%"}}
	for _, tc := range []struct {
		name string
		o    Options
		v    scan.Verdict
		want string // the fields after X-Spam-Bar
	}{
		{"spam", all, scan.Verdict{Score: 8.25, Required: 6, Thresholds: scan.Thresholds{AddHeader: 6, Reject: 15}, Action: scan.AddHeader, Symbols: syms},
			"X-Spam-Report: *  1.0 MISSING_DATE\n *  5.1 BAYES_SPAM Bayes spam probability is 99.80%\n" +
				"X-Spamd-Result: default: False [8.25 / 15.00];\n BAYES_SPAM(5.10)[99.80%];\n MISSING_DATE(1.00)[]\n" +
				"X-Spam: Yes\n"},
		{"reject says True", Options{SpamdResult: true}, scan.Verdict{Score: 20, Required: 6, Thresholds: scan.Thresholds{AddHeader: 6, Reject: 15}, Action: scan.Reject},
			"X-Spamd-Result: default: True [20.00 / 15.00]\n"},
		{"ham: no X-Spam, reject off", all, scan.Verdict{Score: -3, Required: 6, Thresholds: scan.Thresholds{AddHeader: 6}},
			"X-Spam-Report: * no symbols\nX-Spamd-Result: default: False [-3.00 / 6.00]\n"},
		{"only the report", Options{Report: true}, scan.Verdict{Score: 1, Required: 6, Symbols: syms[:1]},
			"X-Spam-Report: *  1.0 MISSING_DATE\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.o.Append(nil, &tc.v, "\n"))
			_, rest, ok := strings.Cut(got, "X-Spam-Bar: ")
			_, rest, _ = strings.Cut(rest, "\n")
			if !ok || rest != tc.want {
				t.Fatalf("got\n%s\nwant after X-Spam-Bar\n%s", got, tc.want)
			}
			for _, f := range tc.o.Fields(&tc.v) {
				if !tc.o.Is(f.Name) {
					t.Errorf("Is(%q) is false for a field Fields writes", f.Name)
				}
			}
		})
	}
	if (Options{Report: true}).Is("X-Spamd-Result") || !all.Is("x-spam") || (Options{}).Is("X-Spam") {
		t.Error("Is does not follow the options")
	}
}

// TestHostileDetails: details carry text from the message; the fields
// stay one header each, ASCII, folded at 78 columns, bounded.
func TestHostileDetails(t *testing.T) {
	var syms []scan.Symbol
	for i := range 200 {
		syms = append(syms, scan.Symbol{
			Name:   "RULE_" + strings.Repeat("X", i%60),
			Score:  float64(i%7) - 3,
			Detail: "<a@b>\r\nX-Spam-Flag: NO\r\n\tü\x00 " + strings.Repeat("long ", i) + "[x];y",
		}, scan.Symbol{
			Name:   strings.Repeat("N", i),
			Score:  -float64(i),
			Detail: strings.Repeat("d", i), // no space to fold at
		})
	}
	v := scan.Verdict{Score: 3, Required: 6, Symbols: syms}
	o := Options{Report: true, SpamdResult: true, Spam: true}
	out := string(o.Append(nil, &v, "\r\n"))
	if len(out) > 64<<10 {
		t.Fatalf("%d bytes of header for one verdict", len(out))
	}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n\x00") || strings.TrimSpace(line) == "" {
			t.Fatalf("line %d %q: a bare CR/LF, a NUL or a blank line", i, line)
		}
		for _, c := range []byte(line) {
			if c >= 0x7f {
				t.Fatalf("line %d %q: a non-ASCII byte", i, line)
			}
		}
		if len(line) > lineLen && !strings.HasPrefix(line, " tests=") { // X-Spam-Status's list is one word, as SpamAssassin's
			t.Errorf("line %d is %d columns: %q", i, len(line), line)
		}
		if i > 0 && line[0] != ' ' && line[0] != '\t' {
			if name, _, _ := strings.Cut(line, ":"); !o.Is(name) {
				t.Fatalf("line %d %q starts a field Sluice does not write", i, line)
			}
		}
	}
	if n := strings.Count(out, "\r\n *"); n != maxSymbols {
		t.Errorf("X-Spam-Report has %d continuation lines, want %d (the last says how many more)", n, maxSymbols)
	}
	if !strings.Contains(out, "* and 336 more") {
		t.Error("X-Spam-Report does not say how many symbols it left out")
	}
}

func TestFolded(t *testing.T) {
	words := strings.Repeat("word ", 40)
	f := Field{Name: "X-Long", Value: strings.TrimSpace(words)}
	got := f.Folded("\n")
	if strings.ReplaceAll(got, "\n", "") != f.Value {
		t.Fatalf("unfolding %q does not give the value back", got)
	}
	lines := strings.Split("X-Long: "+got, "\n")
	for _, l := range lines {
		if len(l) > lineLen {
			t.Errorf("%d columns: %q", len(l), l)
		}
	}
	if len(lines) < 3 {
		t.Errorf("%d lines for %d bytes", len(lines), len(f.Value))
	}
	if (Field{Name: "X", Value: ""}).Folded("\n") != "" {
		t.Error("an empty value folds to something")
	}
}
