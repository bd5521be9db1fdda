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
				"X-Spam-Score: 8.2\nX-Spam-Level: ********\nX-Spam-Bar: ++++++++\n"},
		// The action decides, not the score: a reject with the add-header
		// threshold off is spam, a high score with no action is not.
		{"reject without add header", scan.Verdict{Score: 16, Action: scan.Reject},
			"X-Spam-Flag: YES\nX-Spam-Status: Yes, score=16.0 required=0.0 tests=none\n" +
				"X-Spam-Score: 16.0\nX-Spam-Level: ****************\nX-Spam-Bar: ++++++++++++++++\n"},
		{"score over required, no action", scan.Verdict{Score: 7, Required: 6, Action: scan.NoAction},
			"X-Spam-Status: No, score=7.0 required=6.0 tests=none\nX-Spam-Score: 7.0\nX-Spam-Level: *******\nX-Spam-Bar: +++++++\n"},
		{"ham", scan.Verdict{Score: -4.02, Required: 6, Symbols: syms[:1]},
			"X-Spam-Status: No, score=-4.0 required=6.0 tests=BAYES_SPAM\nX-Spam-Score: -4.0\nX-Spam-Level: \nX-Spam-Bar: ----\n"},
		{"below one point", scan.Verdict{Score: 0.9, Required: 6},
			"X-Spam-Status: No, score=0.9 required=6.0 tests=none\nX-Spam-Score: 0.9\nX-Spam-Level: \nX-Spam-Bar: /\n"},
		{"capped", scan.Verdict{Score: 1e300, Required: 6, Action: scan.Reject},
			"X-Spam-Flag: YES\nX-Spam-Status: Yes, score="},
		// The scan pipeline never gives these; rendering must not panic.
		{"NaN", scan.Verdict{Score: math.NaN(), Required: 6},
			"X-Spam-Status: No, score=NaN required=6.0 tests=none\nX-Spam-Score: NaN\nX-Spam-Level: \nX-Spam-Bar: /\n"},
		{"-Inf", scan.Verdict{Score: math.Inf(-1), Required: 6},
			"X-Spam-Status: No, score=-Inf required=6.0 tests=none\nX-Spam-Score: -Inf\nX-Spam-Level: \nX-Spam-Bar: /\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Append(nil, &tc.v, "\n"))
			if tc.name == "capped" {
				fs := Fields(&tc.v)
				if !strings.HasPrefix(got, tc.want) || fs[3].Value != strings.Repeat("*", 50) || fs[4].Value != strings.Repeat("+", 50) {
					t.Fatalf("got\n%s", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
			for _, f := range Fields(&tc.v) {
				if !Is(f.Name) || !Is(strings.ToLower(f.Name)) {
					t.Errorf("Is(%q) is false for a field Fields writes", f.Name)
				}
			}
		})
	}
	if Is("X-Spam-Report") || Is("Subject") {
		t.Error("Is claims a field Fields never writes")
	}
}
