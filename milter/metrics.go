package milter

import (
	"log/slog"
	"sync/atomic"

	"github.com/sluicemail/sluice/scan"
)

// skipReason says why a message was not scanned.
type skipReason int

const (
	skipAuthenticated skipReason = iota
	skipTrusted
	skipOversize
	numSkips
)

var skipNames = [numSkips]string{"authenticated", "trusted", "oversize"}

const numActions = int(scan.Reject) + 1

// metrics are the server's counters, updated with atomic adds.
type metrics struct {
	connections atomic.Uint64
	scanned     atomic.Uint64
	actions     [numActions]atomic.Uint64
	quarantined atomic.Uint64
	skipped     [numSkips]atomic.Uint64
	errors      atomic.Uint64 // default verdicts given for our own failures
	timeouts    atomic.Uint64
	nonFinite   atomic.Uint64 // verdicts with a stage left out for a non-finite result
}

// Counters is a snapshot of the server's counters.
type Counters struct {
	Connections uint64            `json:"connections"`
	Scanned     uint64            `json:"scanned"`
	Actions     map[string]uint64 `json:"actions"` // by scan.Action name
	Quarantined uint64            `json:"quarantined"`
	Skipped     map[string]uint64 `json:"skipped"` // authenticated, trusted, oversize
	Errors      uint64            `json:"errors"`
	Timeouts    uint64            `json:"timeouts"`
	Refused     uint64            `json:"refused"` // connections over max_connections
	// NonFinite counts verdicts from which a stage (Bayes, the network, a
	// symbol) was left out because its result was not a finite number
	// (scan.Verdict.Skipped).
	NonFinite      uint64 `json:"non_finite"`
	RecordsSent    uint64 `json:"records_sent"`
	RecordsDropped uint64 `json:"records_dropped"`
}

func (m *metrics) snapshot() Counters {
	c := Counters{
		Connections: m.connections.Load(),
		Scanned:     m.scanned.Load(),
		Actions:     make(map[string]uint64, numActions),
		Quarantined: m.quarantined.Load(),
		Skipped:     make(map[string]uint64, numSkips),
		Errors:      m.errors.Load(),
		Timeouts:    m.timeouts.Load(),
		NonFinite:   m.nonFinite.Load(),
	}
	for i := range m.actions {
		c.Actions[scan.Action(i).String()] = m.actions[i].Load()
	}
	for i := range m.skipped {
		c.Skipped[skipNames[i]] = m.skipped[i].Load()
	}
	return c
}

// LogValue makes Counters print as a group of attributes.
func (c Counters) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Uint64("connections", c.Connections), slog.Uint64("scanned", c.Scanned),
		slog.Uint64("quarantined", c.Quarantined), slog.Uint64("errors", c.Errors),
		slog.Uint64("timeouts", c.Timeouts), slog.Uint64("refused", c.Refused),
		slog.Uint64("non_finite", c.NonFinite),
		slog.Uint64("records_sent", c.RecordsSent), slog.Uint64("records_dropped", c.RecordsDropped),
	}
	for i := range numActions {
		name := scan.Action(i).String()
		attrs = append(attrs, slog.Uint64("action "+name, c.Actions[name]))
	}
	for _, name := range skipNames {
		attrs = append(attrs, slog.Uint64("skipped "+name, c.Skipped[name]))
	}
	return slog.GroupValue(attrs...)
}
