// Package spamheader renders a verdict as the X-Spam-* header fields that
// a scanned message gets, the same on every front end: the milter adds
// them with milter actions, the spamd listener writes them into the
// message it returns (PROCESS, HEADERS).
//
// The fields are SpamAssassin's, so that sieve scripts, MUAs and
// procmail recipes written for SpamAssassin work unchanged:
//
//	X-Spam-Flag: YES                                  (spam only)
//	X-Spam-Status: Yes, score=8.2 required=6.0 tests=BAYES_SPAM,MISSING_DATE
//	X-Spam-Score: 8.25
//	X-Spam-Level: ********
//	X-Spam-Bar: ++++++++
//
// Options add, when configured ([headers]), SpamAssassin's X-Spam-Report
// and rspamd's X-Spamd-Result and X-Spam (its milter_headers routines):
//
//	X-Spam-Report: *  5.1 BAYES_SPAM Bayes spam probability is 99.80%
//	 *  1.0 MISSING_DATE no Date header field
//	X-Spamd-Result: default: False [8.25 / 15.00];
//	 BAYES_SPAM(5.10)[99.80%];
//	 MISSING_DATE(1.00)[]
//	X-Spam: Yes                                       (spam only)
//
// A message is spam when its action is add header or stronger
// (scan.Action.IsSpam), not when its score passes some other number: the
// flag, the "Yes" of X-Spam-Status and X-Spam follow the same thresholds
// as the action (rspamd leaves greylist out; here, as on every other
// path, greylist is stronger than add header). X-Spamd-Result says True,
// as rspamd does, only for a reject, and gives the reject threshold as
// the required score (the add-header one when reject is off).
//
// Scores: X-Spam-Status keeps SpamAssassin's one decimal; X-Spam-Score has
// two, because mail is ranked by it (one decimal tied 1,087 of 1,255 hams
// of a deployment replay); X-Spamd-Result has rspamd's two.
// X-Spam-Level has one '*' per whole point of a positive score, at most
// 50 (SpamAssassin's); X-Spam-Bar, kept from the milter's first version,
// is Exim's $spam_bar: '+' per point, '-' per point of a negative score,
// "/" below one point, at most 50. The scan pipeline gives finite scores;
// a non-finite one is still rendered without a panic (no stars, no bar).
//
// Hostile details: a symbol's detail can carry text from the message (a
// Message-ID, a date). In X-Spam-Report and X-Spamd-Result every control
// byte and non-ASCII byte of a name or detail becomes '?' (a raw 8-bit
// header is not safe on every MTA), runs of white space one space; names
// are clipped to 40 bytes, details to 48, a field to 64 symbols. A
// field's Value is one line; Folded folds it at 78 columns: rspamd's and
// SpamAssassin's shape, one symbol per line, and longer lines broken at
// spaces.
//
// Front ends delete incoming fields of the names they write
// (Options.Is) before adding theirs: a sender could forge them, and the
// message then carries one of each, ours.
package spamheader

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/scan"
)

// Field is one header field: its name and its unfolded value (one line).
type Field struct {
	Name, Value string
	// breaks are the offsets in Value of the spaces where a folded
	// value always starts a new line (one symbol per line).
	breaks []int
}

// The field names, in the order Fields writes them.
const (
	Flag        = "X-Spam-Flag"
	Status      = "X-Spam-Status"
	Score       = "X-Spam-Score"
	Level       = "X-Spam-Level"
	Bar         = "X-Spam-Bar"
	Report      = "X-Spam-Report"
	SpamdResult = "X-Spamd-Result"
	Spam        = "X-Spam"
)

// Limits of the symbol fields (X-Spam-Report, X-Spamd-Result).
const (
	maxMarks   = 50 // X-Spam-Level, X-Spam-Bar
	maxName    = 40 // bytes of a symbol name
	maxDetail  = 48 // bytes of a symbol detail
	maxSymbols = 64 // symbols listed in one field
	lineLen    = 78 // columns a folded line keeps to where it can
)

// Options choose the optional fields. The zero value writes
// SpamAssassin's five fields only.
type Options struct {
	Report      bool // X-Spam-Report: one line per symbol
	SpamdResult bool // rspamd's X-Spamd-Result
	Spam        bool // rspamd's X-Spam: Yes for spam
}

// Names are the names of the fields Fields may write, in order.
func (o Options) Names() []string {
	out := []string{Flag, Status, Score, Level, Bar}
	if o.Report {
		out = append(out, Report)
	}
	if o.SpamdResult {
		out = append(out, SpamdResult)
	}
	if o.Spam {
		out = append(out, Spam)
	}
	return out
}

// Is reports whether name (any case) is one of the fields Fields writes.
func (o Options) Is(name string) bool {
	return slices.ContainsFunc(o.Names(), func(n string) bool { return strings.EqualFold(n, name) })
}

// Fields are the header fields of a message with verdict v, in the order
// a front end adds them.
func (o Options) Fields(v *scan.Verdict) []Field {
	spam := v.Action.IsSpam()
	out := make([]Field, 0, 8)
	if spam {
		out = append(out, Field{Name: Flag, Value: "YES"})
	}
	out = append(out,
		Field{Name: Status, Value: status(v, spam)},
		Field{Name: Score, Value: num(v.Score, 2)},
		Field{Name: Level, Value: level(v.Score)},
		Field{Name: Bar, Value: bar(v.Score)},
	)
	if o.Report {
		out = append(out, report(v))
	}
	if o.SpamdResult {
		out = append(out, spamdResult(v))
	}
	if o.Spam && spam {
		out = append(out, Field{Name: Spam, Value: "Yes"})
	}
	return out
}

// Append appends the fields of v to dst as header lines, folded, each
// line ending in eol.
func (o Options) Append(dst []byte, v *scan.Verdict, eol string) []byte {
	for _, f := range o.Fields(v) {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Folded(eol)...)
		dst = append(dst, eol...)
	}
	return dst
}

// Folded is the value folded for a header line "Name: value": a line
// break (eol, which the space that follows it continues) at every
// mandatory break and before any space past which the line would pass 78
// columns. Unfolding it (removing eol) gives Value back. The milter
// passes "\n" (libmilter's convention, which Postfix and Sendmail turn
// into CRLF), the spamd listener the message's own line end.
func (f Field) Folded(eol string) string {
	var b strings.Builder
	col := len(f.Name) + 2
	start := 0 // of the current word
	next := 0  // index into breaks
	for start <= len(f.Value) {
		end := strings.IndexByte(f.Value[start:], ' ')
		if end < 0 {
			end = len(f.Value)
		} else {
			end += start
		}
		word := f.Value[start:end]
		if start > 0 { // the word follows the space at start-1
			sp := start - 1
			for next < len(f.breaks) && f.breaks[next] < sp {
				next++
			}
			forced := next < len(f.breaks) && f.breaks[next] == sp
			if forced || (col+1+len(word) > lineLen && col > 1) {
				b.WriteString(eol)
				col = 0
			}
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += len(word)
		start = end + 1
	}
	return b.String()
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
	b.WriteString(num(v.Score, 1))
	b.WriteString(" required=")
	b.WriteString(num(v.Required, 1))
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

// report is SpamAssassin's _REPORT_: "* score NAME description" per
// symbol, one per line.
func report(v *scan.Verdict) Field {
	f := Field{Name: Report}
	var b strings.Builder
	for i, s := range symbols(v) {
		if i > 0 {
			f.breaks = append(f.breaks, b.Len())
			b.WriteByte(' ')
		}
		b.WriteString("* ")
		b.WriteString(pad(num(s.Score, 1), 4))
		b.WriteByte(' ')
		name := clean(s.Name, maxName)
		b.WriteString(name)
		if d := clean(Describe(s), maxDetail); d != "" && d != name {
			b.WriteByte(' ')
			b.WriteString(d)
		}
	}
	if len(v.Symbols) == 0 {
		b.WriteString("* no symbols")
	} else if n := len(v.Symbols) - maxSymbols; n > 0 {
		f.breaks = append(f.breaks, b.Len())
		b.WriteString(" * and " + strconv.Itoa(n) + " more")
	}
	f.Value = b.String()
	return f
}

// spamdResult is rspamd's "default: False [score / required];
// SYMBOL(score)[detail]; ...", symbols by falling |score| as rspamd sorts
// them, one per line.
func spamdResult(v *scan.Verdict) Field {
	f := Field{Name: SpamdResult}
	required := v.Thresholds.Reject
	if required <= 0 {
		required = v.Required
	}
	word := "False"
	if v.Action == scan.Reject {
		word = "True"
	}
	var b strings.Builder
	b.WriteString("default: " + word + " [" + num(v.Score, 2) + " / " + num(required, 2) + "]")
	syms := slices.Clone(symbols(v))
	slices.SortStableFunc(syms, func(a, b scan.Symbol) int { return cmp.Compare(math.Abs(b.Score), math.Abs(a.Score)) })
	for _, s := range syms {
		b.WriteByte(';')
		f.breaks = append(f.breaks, b.Len())
		head := " " + clean(s.Name, maxName) + "(" + num(s.Score, 2) + ")["
		// The symbol's line, " NAME(score)[detail];", within 78 columns:
		// a detail without spaces cannot be folded.
		room := max(lineLen-len(head)-len("];"), 8)
		b.WriteString(head)
		b.WriteString(strings.NewReplacer("[", "(", "]", ")", ";", ",").Replace(clean(s.Detail, min(maxDetail, room))))
		b.WriteByte(']')
	}
	f.Value = b.String()
	return f
}

// symbols are the symbols a field lists: at most maxSymbols.
func symbols(v *scan.Verdict) []scan.Symbol {
	return v.Symbols[:min(len(v.Symbols), maxSymbols)]
}

// Describe is what a report says of a symbol: its detail, for Bayes
// "Bayes spam probability is" it, else the name.
func Describe(s scan.Symbol) string {
	switch {
	case strings.HasPrefix(s.Name, "BAYES_") && s.Detail != "":
		return "Bayes spam probability is " + s.Detail
	case s.Detail != "":
		return s.Detail
	}
	return s.Name
}

// clean makes s safe in a header value: control and non-ASCII bytes
// become '?', runs of white space one space, no leading or trailing
// space, at most limit bytes.
func clean(s string, limit int) string {
	b := make([]byte, 0, min(len(s), limit))
	space := false
	for i := 0; i < len(s) && len(b) < limit; i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = len(b) > 0
			continue
		case c < 0x20 || c >= 0x7f:
			c = '?'
		}
		if space {
			b = append(b, ' ')
			space = false
			if len(b) == limit {
				break
			}
		}
		b = append(b, c)
	}
	return strings.TrimRight(string(b), " ")
}

func pad(s string, width int) string {
	if len(s) >= width {
		return s
	}
	return strings.Repeat(" ", width-len(s)) + s
}

func num(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

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
