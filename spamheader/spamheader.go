// Package spamheader renders a verdict as the X-Spam-* header fields that
// a scanned message gets, the same on every front end: the milter adds
// them with milter actions, the spamd listener writes them into the
// message it returns (PROCESS, HEADERS, rspamd's milter block).
//
// The fields are SpamAssassin's, so that sieve scripts, MUAs and
// procmail recipes written for SpamAssassin work unchanged:
//
//	X-Spam-Flag: YES                                  (spam only)
//	X-Spam-Status: Yes, score=8.2 required=6.0 tests=BAYES_SPAM,MISSING_DATE
//	X-Spam-Score: 8.2
//	X-Spam-Level: ********
//	X-Spam-Bar: ++++++++
//
// A message is spam when its action is add header or stronger
// (scan.Action.IsSpam), not when its score passes some other number: the
// flag and the "Yes" follow the same thresholds as the action. Scores have
// one decimal. X-Spam-Level has one '*' per whole point of a positive
// score, at most 50 (SpamAssassin's); X-Spam-Bar, kept from the milter's
// first version, is Exim's $spam_bar: '+' per point, '-' per point of a
// negative score, "/" below one point, at most 50. The scan pipeline
// gives finite scores; a non-finite one is still rendered without a panic
// (no stars, no bar).
//
// Front ends delete incoming fields of these names before adding theirs
// (Is tells whether a name is one): a sender could forge them.
package spamheader

import (
	"math"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/scan"
)

// Field is one header field: its name and its unfolded value.
type Field struct {
	Name, Value string
}

// The field names, in the order Fields writes them.
const (
	Flag   = "X-Spam-Flag"
	Status = "X-Spam-Status"
	Score  = "X-Spam-Score"
	Level  = "X-Spam-Level"
	Bar    = "X-Spam-Bar"
)

var names = [...]string{Flag, Status, Score, Level, Bar}

// maxMarks bounds X-Spam-Level and X-Spam-Bar.
const maxMarks = 50

// Names are the names of the fields Fields may write, in order.
func Names() []string { return names[:len(names):len(names)] }

// Is reports whether name (any case) is one of the fields Fields writes.
func Is(name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// Fields are the header fields of a message with verdict v, in the order
// a front end adds them.
func Fields(v *scan.Verdict) []Field {
	spam := v.Action.IsSpam()
	out := make([]Field, 0, len(names))
	if spam {
		out = append(out, Field{Flag, "YES"})
	}
	return append(out,
		Field{Status, status(v, spam)},
		Field{Score, score(v.Score)},
		Field{Level, level(v.Score)},
		Field{Bar, bar(v.Score)},
	)
}

// Append appends the fields of v to dst as header lines ending in eol.
func Append(dst []byte, v *scan.Verdict, eol string) []byte {
	for _, f := range Fields(v) {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, eol...)
	}
	return dst
}

// status is "Yes, score=8.2 required=6.0 tests=A,B" ("No, ..."; tests=none
// without symbols).
func status(v *scan.Verdict, spam bool) string {
	var b strings.Builder
	if spam {
		b.WriteString("Yes")
	} else {
		b.WriteString("No")
	}
	b.WriteString(", score=")
	b.WriteString(score(v.Score))
	b.WriteString(" required=")
	b.WriteString(score(v.Required))
	b.WriteString(" tests=")
	if len(v.Symbols) == 0 {
		b.WriteString("none")
	}
	for i, s := range v.Symbols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.Name)
	}
	return b.String()
}

func score(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// marks is the number of whole points of |f|, at most maxMarks; 0 for a
// non-finite f.
func marks(f float64) int {
	a := math.Abs(f)
	if math.IsNaN(a) || math.IsInf(a, 0) {
		return 0
	}
	return int(min(a, maxMarks))
}

// level is one '*' per whole point of a positive score.
func level(f float64) string {
	if f <= 0 {
		return ""
	}
	return strings.Repeat("*", marks(f))
}

// bar is '+' per point ('-' per point of a negative score), "/" below one
// point.
func bar(f float64) string {
	switch n := marks(f); {
	case n == 0:
		return "/"
	case f < 0:
		return strings.Repeat("-", n)
	default:
		return strings.Repeat("+", n)
	}
}
