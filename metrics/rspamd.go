package metrics

import (
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluicemail/sluice/scan"
)

// This file answers rspamd's controller endpoints /stat and /counters
// (what `rspamc stat` and `rspamc counters` ask for), from a scrape of
// the process's registry: the front ends' sluice_<front end>_scanned_total,
// _connections_total and _symbol_hits_total, summed over milter and
// spamd. Nothing is counted twice and nothing here keeps state.

// Statfile is one entry of /stat's "statfiles", in rspamd's terms:
// Revision is the number of messages learned into it, Total and Used
// its slots.
type Statfile struct {
	Symbol    string `json:"symbol"`
	Type      string `json:"type"`
	Revision  uint64 `json:"revision"`
	Size      int64  `json:"size"`
	Total     uint64 `json:"total"`
	Used      uint64 `json:"used"`
	Users     int    `json:"users"`
	Languages int    `json:"languages"`
}

// Stat is /stat's answer, the fields rspamc 3.x prints.
type Stat struct {
	Scanned            uint64            `json:"scanned"`
	Actions            map[string]uint64 `json:"actions"` // by rspamd's action name ("add header")
	SpamCount          uint64            `json:"spam_count"`
	HamCount           uint64            `json:"ham_count"`
	Learned            uint64            `json:"learned"`
	Connections        uint64            `json:"connections"`
	ControlConnections uint64            `json:"control_connections"`
	Statfiles          []Statfile        `json:"statfiles"`
	TotalLearns        uint64            `json:"total_learns"`
}

// Counter is one entry of /counters: a symbol, its configured weight
// (0 when it has none: its score varies per message), how often it fired
// per second since the process started, and how many times.
type Counter struct {
	Symbol    string  `json:"symbol"`
	Weight    float64 `json:"weight"`
	Frequency float64 `json:"frequency"`
	StdDev    float64 `json:"frequency_stddev"`
	Hits      uint64  `json:"hits"`
	Time      float64 `json:"time"`
}

// ControllerOptions are where /stat and /counters take their figures.
type ControllerOptions struct {
	Gatherer prometheus.Gatherer
	// Statfiles describes the statfile (BAYES_SPAM and BAYES_HAM entries)
	// at request time; nil or an error: none listed.
	Statfiles func() ([]Statfile, error)
	// Weights are the symbols' configured weights, for /counters.
	Weights map[string]float64
	// Start is when the process started; Now the clock (time.Now).
	Start time.Time
	Now   func() time.Time
	// Logger gets the errors of a scrape. Default: discard.
	Logger *slog.Logger
}

// frontEnds are the prefixes whose counters /stat and /counters sum.
var frontEnds = []string{"sluice_milter_", "sluice_spamd_"}

// BuildStat computes /stat's answer from a scrape.
func BuildStat(o ControllerOptions) (Stat, error) {
	st := Stat{Actions: map[string]uint64{}, Statfiles: []Statfile{}}
	fams, err := o.Gatherer.Gather()
	if err != nil {
		return st, err
	}
	for a := scan.NoAction; a <= scan.Reject; a++ {
		st.Actions[a.String()] = 0
	}
	labels := map[string]scan.Action{}
	for a := scan.NoAction; a <= scan.Reject; a++ {
		labels[ActionLabel(a)] = a
	}
	for _, f := range fams {
		switch {
		case isFrontEnd(f, "scanned_total"):
			for _, m := range f.GetMetric() {
				a, ok := labels[label(m, "action")]
				if !ok {
					continue
				}
				n := counterValue(m)
				st.Actions[a.String()] += n
				st.Scanned += n
				if a.IsSpam() {
					st.SpamCount += n
				} else {
					st.HamCount += n
				}
			}
		case isFrontEnd(f, "connections_total"):
			for _, m := range f.GetMetric() {
				st.Connections += counterValue(m)
			}
		}
	}
	if o.Statfiles != nil {
		sfs, err := o.Statfiles()
		if err == nil {
			st.Statfiles = sfs
		}
		for _, sf := range sfs {
			st.Learned += sf.Revision
		}
		st.TotalLearns = st.Learned
	}
	return st, nil
}

// BuildCounters computes /counters' answer from a scrape, by symbol name.
func BuildCounters(o ControllerOptions) ([]Counter, error) {
	fams, err := o.Gatherer.Gather()
	if err != nil {
		return nil, err
	}
	hits := map[string]uint64{}
	for _, f := range fams {
		if !isFrontEnd(f, "symbol_hits_total") {
			continue
		}
		for _, m := range f.GetMetric() {
			hits[label(m, "symbol")] += counterValue(m)
		}
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	up := now().Sub(o.Start).Seconds()
	out := make([]Counter, 0, len(hits))
	for name, n := range hits {
		c := Counter{Symbol: name, Weight: o.Weights[name], Hits: n}
		if up > 0 {
			c.Frequency = float64(n) / up
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Counter) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out, nil
}

// StatHandler serves GET /stat.
func StatHandler(o ControllerOptions) http.Handler {
	return jsonHandler(o, func() (any, error) { return BuildStat(o) })
}

// CountersHandler serves GET /counters.
func CountersHandler(o ControllerOptions) http.Handler {
	return jsonHandler(o, func() (any, error) { return BuildCounters(o) })
}

func jsonHandler(o ControllerOptions, build func() (any, error)) http.Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := build()
		if err != nil {
			log.Warn("metrics: scrape for "+r.URL.Path+" failed", "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	})
}

func isFrontEnd(f *dto.MetricFamily, suffix string) bool {
	for _, p := range frontEnds {
		if f.GetName() == p+suffix {
			return true
		}
	}
	return false
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func counterValue(m *dto.Metric) uint64 {
	v := m.GetCounter().GetValue()
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return uint64(v)
}
