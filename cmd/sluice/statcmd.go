package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/statreport"
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
	r := statreport.New(info)
	r.Network, r.Profiles = learnstack.StatNetworks(cfg, time.Now())
	acc, aerr := learner.ReadAccuracy(ctx, cfg.DataPath(cfg.Learner.Socket))
	if aerr == nil {
		r.Accuracy = &acc // only from a learner that answers
	} else if !errors.Is(aerr, learner.ErrUnreachable) {
		fmt.Fprintf(std.err, "sluice stat: accuracy: %v\n", aerr)
	}
	if c.json {
		out, err := r.JSON()
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
	return r.WriteText(std.out)
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
