// Package metrics holds what the daemons' Prometheus metrics and log
// lines share: the label form of an action, the log form of a verdict's
// symbols, the scan-duration buckets, the scan stack's counters (statfile
// faults, non-finite verdicts), the /metrics listener of `sluice milter`
// and `sluice spamd`, and rspamd's /stat and /counters answers built from
// a scrape.
//
// Each front end declares its own counters with the Prometheus client
// (package milter's and spamd's metrics.go) and registers them on a
// registry its command owns: no global registry, so tests and `sluice
// serve` build their own.
package metrics

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/scan"
)

// ActionLabel is an action as a Prometheus label value or log field:
// rspamd's name with "_" for the space ("no_action", "add_header",
// "rewrite_subject", "greylist", "reject"), so that no label holds a
// space.
func ActionLabel(a scan.Action) string { return strings.ReplaceAll(a.String(), " ", "_") }

// ScanBuckets are the bounds of both front ends' scan-duration
// histograms: from 0.5 ms (a short message, statfile in memory) to about
// 8 s (the tokenizer's default max_time is 2 s).
var ScanBuckets = prometheus.ExponentialBuckets(0.0005, 2, 15)

// SymbolList is a verdict's symbols as one log field, NAME=score pairs
// separated by commas in the verdict's order: "BAYES_SPAM=7.92,MISSING_MID=0.50".
func SymbolList(syms []scan.Symbol) string {
	var b strings.Builder
	for i, s := range syms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.Name)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(s.Score, 'f', 2, 64))
	}
	return b.String()
}

// maxLogField bounds a field taken from a client (sender, queue id) in a
// log line.
const maxLogField = 256

// Clip shortens a client-given log field to 256 bytes.
func Clip(s string) string {
	if len(s) > maxLogField {
		return s[:maxLogField]
	}
	return s
}
