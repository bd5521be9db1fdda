package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"text/tabwriter"

	"github.com/sluicemail/sluice/mmapstore"
)

// cmdStat prints what is in the statfile.
func cmdStat(_ context.Context, std *stdio, args []string) error {
	fset, c := newFlags("stat", "", std, true)
	if err := parse(fset, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	path, err := statfilePath(cfg)
	if err != nil {
		return err
	}
	info, err := mmapstore.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no statfile at %s yet: `sluice learn spam|ham` creates it", path)
	}
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(std.out, info)
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
	return tw.Flush()
}

// cmdFsck checks every invariant of the statfile and its journal; it exits 2
// and describes each problem when it finds any.
func cmdFsck(_ context.Context, std *stdio, args []string) error {
	fset, c := newFlags("fsck", "[STATFILE]", std, false)
	if err := parse(fset, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	path := fset.Arg(0)
	if path == "" {
		if path, err = statfilePath(cfg); err != nil {
			return err
		}
	}
	if err := mmapstore.Check(path); err != nil {
		var ce *mmapstore.CorruptError
		if errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) {
			return &exitError{code: exitCorrupt, err: err}
		}
		return err
	}
	fmt.Fprintf(std.out, "%s: ok\n", path)
	return nil
}
