package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/sluicemail/sluice/evalstats"
)

// maxFPR is the false-positive cap of the "FN at FP <= 0.1%" figure, as
// in `sluice eval`.
const maxFPR = 0.001

// Verdict is what the milter told the MTA about one message, read from a
// line of milterload's -log.
type Verdict struct {
	Path   string
	Action string  // milterload's: accept, reject, tempfail, discard, other; "" after an error
	Score  float64 // X-Spam-Score as added; NaN when none was added
	Flag   bool    // X-Spam-Flag: YES added
	Err    string  // the transaction's error, if any
}

// Spam is the site's verdict: the message was rejected (or refused for
// now), or delivered marked as spam.
func (v Verdict) Spam() bool { return v.Action == "reject" || v.Action == "tempfail" || v.Flag }

// Rank is the number the message is ranked by: the X-Spam-Score header,
// and above every score for a message refused at the end of data, which
// gets no header (its score is at least [actions] reject, and the MTA
// learns no more). NaN when the message has neither.
func (v Verdict) Rank() float64 {
	if v.Action == "reject" || v.Action == "tempfail" {
		return math.Inf(1)
	}
	return v.Score
}

// maxLogLine bounds one line of a milterload log (a path and the header
// values the milter added).
const maxLogLine = 1 << 20

// ReadLog reads milterload's -log TSV: a header line, then idx, path,
// action, stage, eom_ms, txn_ms, modifications, error per message.
func ReadLog(r io.Reader, name string) ([]Verdict, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	var out []Verdict
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 && strings.HasPrefix(line, "idx\t") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 8 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 8", name, n, len(f))
		}
		v := Verdict{Path: f[1], Action: f[2], Score: math.NaN(), Err: f[7]}
		mods, err := ParseMods(f[6])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		for _, m := range mods {
			if m.Code != 'h' && m.Code != 'i' { // added or inserted; 'm' with "" deletes an incoming copy
				continue
			}
			switch {
			case strings.EqualFold(m.Name, "X-Spam-Score"):
				s, err := strconv.ParseFloat(strings.TrimSpace(m.Value), 64)
				if err != nil || math.IsNaN(s) {
					return nil, fmt.Errorf("%s:%d: X-Spam-Score %q is not a number", name, n, m.Value)
				}
				v.Score = s
			case strings.EqualFold(m.Name, "X-Spam-Flag"):
				v.Flag = strings.EqualFold(strings.TrimSpace(m.Value), "YES")
			}
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// Mod is one modification as milterload logs it: a code (h add header, i
// insert header, m change header, q quarantine, y custom reply, others
// for recipients, sender and body) with a header name and value, or a
// text.
type Mod struct {
	Code  byte
	Name  string
	Value string
}

// ParseMods splits milterload's modifications column: entries separated
// by "; ", each `C Name="value"` for header edits, `q "reason"` and
// `y "reply"`, `C arg` or `C` for the rest. Values are Go-quoted, so a
// "; " inside one does not split it.
func ParseMods(s string) ([]Mod, error) {
	var out []Mod
	for s != "" {
		m := Mod{Code: s[0]}
		s = s[1:]
		var err error
		switch {
		case s == "" || strings.HasPrefix(s, "; "): // a code alone (body replaced)
		case s[0] != ' ':
			return nil, fmt.Errorf("modification %q: no space after the code", string(m.Code)+s)
		default:
			s = s[1:]
			m.Value, s, err = modArg(&m, s)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if s == "" {
			break
		}
		if !strings.HasPrefix(s, "; ") {
			return nil, fmt.Errorf("modifications: %q where \"; \" should follow", s)
		}
		s = s[2:]
	}
	return out, nil
}

// modArg reads the argument of a modification whose code is m.Code (a
// header edit sets m.Name): the value and the rest of s.
func modArg(m *Mod, s string) (value, rest string, err error) {
	switch m.Code {
	case 'h', 'i', 'm':
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return "", "", fmt.Errorf("header modification without '=': %q", s)
		}
		m.Name = s[:eq]
		return quoted(s[eq+1:])
	case 'q', 'y':
		return quoted(s)
	}
	i := strings.Index(s, "; ")
	if i < 0 {
		i = len(s)
	}
	return s[:i], s[i:], nil
}

// quoted takes the Go-quoted string at the start of s.
func quoted(s string) (value, rest string, err error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", fmt.Errorf("quoted value in %q: %w", s, err)
	}
	value, err = strconv.Unquote(q)
	return value, s[len(q):], err
}

// Judgement is the test split's figures as a site gets them.
type Judgement struct {
	// Ranking: evalstats over the X-Spam-Score values (rejects above all).
	Ranking evalstats.Report
	// At the default actions: ham rejected or flagged, spam delivered
	// unflagged.
	Spam, Ham      int
	FP, FN         int
	Rejected       int // messages refused at the end of data
	Flagged        int // delivered with X-Spam-Flag: YES
	Unscored       int // delivered without X-Spam-Score (skipped): not ranked
	Errors         int // transactions that failed: no verdict
	MissingFromLog int // messages of the list with no log line
}

// FPRate and FNRate are the rates at the default actions.
func (j Judgement) FPRate() float64 { return ratio(j.FP, j.Ham) }

// FNRate is the share of spam delivered unflagged.
func (j Judgement) FNRate() float64 { return ratio(j.FN, j.Spam) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Judge scores the verdicts of the messages in labels (path → spam);
// Ranking's fixed-threshold figures are at threshold (the add_header
// score). A verdict of a message not in labels, or two of one, is an
// error.
func Judge(labels map[string]bool, verdicts []Verdict, threshold float64) (Judgement, []evalstats.Sample, error) {
	var j Judgement
	seen := make(map[string]bool, len(verdicts))
	var samples []evalstats.Sample
	for _, v := range verdicts {
		spam, ok := labels[v.Path]
		if !ok {
			return j, nil, fmt.Errorf("verdict for %s, which is not in the list", v.Path)
		}
		if seen[v.Path] {
			return j, nil, fmt.Errorf("two verdicts for %s", v.Path)
		}
		seen[v.Path] = true
		if spam {
			j.Spam++
		} else {
			j.Ham++
		}
		if v.Err != "" || v.Action == "" {
			j.Errors++
			continue
		}
		switch {
		case v.Action == "reject" || v.Action == "tempfail":
			j.Rejected++
		case v.Flag:
			j.Flagged++
		}
		switch {
		case spam && !v.Spam():
			j.FN++
		case !spam && v.Spam():
			j.FP++
		}
		r := v.Rank()
		if math.IsNaN(r) {
			j.Unscored++
			continue
		}
		samples = append(samples, evalstats.Sample{Spam: spam, Score: r})
	}
	j.MissingFromLog = len(labels) - len(seen)
	if len(samples) == 0 {
		return j, nil, errors.New("no message was scored")
	}
	j.Ranking = evalstats.Compute(samples, threshold, maxFPR)
	return j, samples, nil
}
