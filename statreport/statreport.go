// Package statreport writes what `sluice stat` prints: the statfile's
// header, totals and namespaces, its replication state (a cluster
// host's cursor and marks, in a section of their own rather than among
// the namespaces), the networks, and the accuracy as users see it; as
// text or as snake_case JSON.
package statreport

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/internal/snakejson"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/mmapstore"
)

// Report is what `sluice stat` shows.
type Report struct {
	Info     mmapstore.Info // its Namespaces: those that hold learns
	Cluster  learn.Replicated
	Network  *learner.NetworkStat
	Profiles map[string]*learner.NetworkStat // use_settings: each profile's network
	Accuracy *[]activity.Day                 // from a learner that answered, last days first
}

// New makes the report of info: its replication records go to Cluster.
func New(info mmapstore.Info) Report {
	var r Report
	info.Namespaces, r.Cluster = learn.SplitNamespaces(info.Namespaces)
	r.Info = info
	return r
}

// replicated reports whether the statfile holds replication state.
func (r *Report) replicated() bool { return r.Cluster.Cursor > 0 || len(r.Cluster.Marks) > 0 }

// JSON is the report as `sluice stat --json` writes it. mmapstore.Info
// and learner.NetworkStat have no json tags: their keys are snake-cased
// like every other --json output's; the cluster section is added after,
// so that origin names keep their case.
func (r Report) JSON() (any, error) {
	out, err := snakejson.Keys(struct {
		mmapstore.Info
		Network  *learner.NetworkStat            `json:",omitempty"`
		Profiles map[string]*learner.NetworkStat `json:",omitempty"`
		Accuracy *[]activity.Day                 `json:",omitempty"`
	}{r.Info, r.Network, r.Profiles, r.Accuracy})
	if err != nil {
		return nil, err
	}
	if m, ok := out.(map[string]any); ok && r.replicated() {
		m["cluster"] = r.Cluster
	}
	return out, nil
}

// WriteText writes the report as aligned text.
func (r Report) WriteText(w io.Writer) error {
	info := r.Info
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "statfile\t%s\n", info.Path)
	fmt.Fprintf(tw, "tokenizer\t%s seed=%#x window=%d version=%d\n", info.Params.Hash, info.Params.Seed, info.Params.Window, info.Params.Version)
	fmt.Fprintf(tw, "size\t%d bytes, %d slots\n", info.FileSize, info.Capacity)
	fmt.Fprintf(tw, "tokens\t%d (load %.1f%%, %.1f bytes per token, probe bound %d)\n", info.Used, info.Load*100, info.BytesPerToken, info.MaxProbe)
	fmt.Fprintf(tw, "expired\t%d tokens\n", info.Expired)
	fmt.Fprintf(tw, "generation\t%d\n", info.Generation)
	fmt.Fprintf(tw, "journal\tapplied seq %d, journal seq %d, %d bytes\n", info.AppliedSeq, info.JournalSeq, info.JournalBytes)
	fmt.Fprintf(tw, "learned\tspam %d, ham %d\n", info.Shared.Spam, info.Shared.Ham)
	for _, ns := range info.Namespaces {
		name := ns.Name
		if name == "" {
			name = fmt.Sprintf("%#016x", uint64(ns.NS))
		}
		fmt.Fprintf(tw, "  %s\tspam %d, ham %d\n", name, ns.Totals.Spam, ns.Totals.Ham)
	}
	if r.replicated() {
		fmt.Fprintf(tw, "cluster\tstream cursor %d (the last event applied), %d origins\n", r.Cluster.Cursor, len(r.Cluster.Marks))
		for _, o := range slices.Sorted(maps.Keys(r.Cluster.Marks)) {
			fmt.Fprintf(tw, "  origin %s\tseq %d applied\n", o, r.Cluster.Marks[o])
		}
	}
	r.Network.WriteText(tw, "network")
	for _, name := range slices.Sorted(maps.Keys(r.Profiles)) {
		r.Profiles[name].WriteText(tw, "network of profile "+name)
	}
	if r.Accuracy != nil {
		fmt.Fprintf(tw, "accuracy as users see it\tlast %d days, from the learner\n", learner.AccuracyDays)
		activity.WriteDays(tw, *r.Accuracy)
	}
	return tw.Flush()
}
