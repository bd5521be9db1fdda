package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/sluicemail/sluice/activity"
	"github.com/sluicemail/sluice/internal/snakejson"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
)

// cmdStat prints what is in the statfile.
func cmdStat(ctx context.Context, std *stdio, args []string) error {
	fset, c := newFlags("stat", "", std, true)
	if err := parse(fset, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	path := cfg.StatfilePath()
	info, err := mmapstore.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no statfile at %s yet: `sluice learn spam|ham` creates it", path)
	}
	if err != nil {
		return err
	}
	net, profiles := learnstack.StatNetworks(cfg, time.Now())
	var accuracy *[]activity.Day // only from a learner that answers
	acc, aerr := learner.ReadAccuracy(ctx, cfg.DataPath(cfg.Learner.Socket))
	if aerr == nil {
		accuracy = &acc
	} else if !errors.Is(aerr, learner.ErrUnreachable) {
		fmt.Fprintf(std.err, "sluice stat: accuracy: %v\n", aerr)
	}
	if c.json {
		// mmapstore.Info and learner.NetworkStat have no json tags:
		// their keys are snake-cased like every other --json output's.
		out, err := snakejson.Keys(struct {
			mmapstore.Info
			Network  *learner.NetworkStat            `json:",omitempty"`
			Profiles map[string]*learner.NetworkStat `json:",omitempty"` // use_settings: each profile's network
			Accuracy *[]activity.Day                 `json:",omitempty"` // as users see it, last 7 days
		}{info, net, profiles, accuracy})
		if err != nil {
			return err
		}
		return writeJSON(std.out, out)
	}
	if err := learn.CheckTotals(path); errors.Is(err, learn.ErrTotalsMismatch) {
		info.Warnings = append(info.Warnings, err.Error())
	}
	for _, w := range info.Warnings {
		fmt.Fprintf(std.err, "sluice stat: WARNING: %s: run `sluice fsck`\n", w)
	}
	tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
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
	net.WriteText(tw, "network")
	for _, name := range slices.Sorted(maps.Keys(profiles)) {
		profiles[name].WriteText(tw, "network of profile "+name)
	}
	if accuracy != nil {
		fmt.Fprintf(tw, "accuracy as users see it\tlast %d days, from the learner\n", learner.AccuracyDays)
		activity.WriteDays(tw, acc)
	}
	return tw.Flush()
}

// cmdFsck checks every invariant of the statfile and its journal; it exits 2
// and describes each problem when it finds any. --repair first replays
// every good journal record past a corrupt one into the statfile (the
// learner must be stopped) and says what it dropped.
func cmdFsck(_ context.Context, std *stdio, args []string) error {
	fset, c := newFlags("fsck", "[STATFILE]", std, false)
	repair := fset.Bool("repair", false, "keep every good journal record past a corrupt one, report the dropped ones, then check (stop the learner first)")
	if err := parse(fset, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	path := fset.Arg(0)
	if path == "" {
		path = cfg.StatfilePath()
	}
	if *repair {
		rep, err := mmapstore.RepairJournal(path, learnstack.WriterOptions(cfg, nil))
		if err != nil {
			return fmt.Errorf("repair: %w", err)
		}
		fmt.Fprintf(std.out, "%s: journal repaired: %d good records kept (%d replayed into the statfile, now at seq %d), %d bad stretches dropped\n",
			path, rep.Records, rep.Replayed, rep.Seq, len(rep.Dropped))
		for _, d := range rep.Dropped {
			fmt.Fprintf(std.out, "  dropped %s\n", d)
		}
		if rep.TornBytes > 0 {
			fmt.Fprintf(std.out, "  dropped a torn tail of %d bytes\n", rep.TornBytes)
		}
	}
	err = mmapstore.Check(path)
	var ce *mmapstore.CorruptError
	if err != nil && !errors.As(err, &ce) && errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if terr := learn.CheckTotals(path); errors.Is(terr, learn.ErrTotalsMismatch) {
		err = errors.Join(err, terr)
	}
	if err != nil {
		return &exitError{code: exitCorrupt, err: err}
	}
	fmt.Fprintf(std.out, "%s: ok\n", path)
	return nil
}
