package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/nn"
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
	net, err := statNetwork(cfg, "")
	if err != nil {
		return err
	}
	var profiles map[string]*networkStat
	if cfg.Neural.UseSettings {
		for _, name := range cfg.ProfileNames() {
			st, err := statNetwork(cfg, name)
			if err != nil {
				return err
			}
			if st != nil {
				if profiles == nil {
					profiles = make(map[string]*networkStat)
				}
				profiles[name] = st
			}
		}
	}
	if c.json {
		return writeJSON(std.out, struct {
			mmapstore.Info
			Network  *networkStat            `json:",omitempty"`
			Profiles map[string]*networkStat `json:",omitempty"` // use_settings: each profile's network
		}{info, net, profiles})
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
	printNetwork(tw, "network", net)
	for _, name := range slices.Sorted(maps.Keys(profiles)) {
		printNetwork(tw, "network of profile "+name, profiles[name])
	}
	return tw.Flush()
}

// printNetwork writes a network's lines of `sluice stat`.
func printNetwork(tw io.Writer, title string, net *networkStat) {
	if net == nil {
		return
	}
	state := ""
	if !net.Enabled {
		state = " (neural.enabled is off: not in service)"
	}
	switch {
	case net.Missing:
		fmt.Fprintf(tw, "%s\t%s: none published yet\n", title, net.Path)
	case net.Error != "":
		fmt.Fprintf(tw, "%s\t%s%s\n", title, net.Path, state)
		fmt.Fprintf(tw, "  refused\t%s\n", net.Error)
	default:
		fmt.Fprintf(tw, "%s\t%s%s\n", title, net.Path, state)
		fmt.Fprintf(tw, "  epoch\t%d\n", net.Epoch)
		fmt.Fprintf(tw, "  samples\tspam %d, ham %d\n", net.SpamSamples, net.HamSamples)
		fmt.Fprintf(tw, "  inputs\t%d (%d hidden units, %s/%s)\n", net.Inputs, net.Hidden, net.HiddenAct, net.OutAct)
		fmt.Fprintf(tw, "  age\t%s (created %s)\n", time.Duration(net.AgeSeconds)*time.Second, net.Created.Format(time.RFC3339))
		fmt.Fprintf(tw, "  digest\t%s\n", net.Digest)
	}
	if p := net.Pools; p != nil {
		if p.Error != "" {
			fmt.Fprintf(tw, "  pools\t%s: unreadable: %s\n", p.Path, p.Error)
			return
		}
		fmt.Fprintf(tw, "  pools\tspam %d, ham %d, %d new since the last training, %d labelled by learns (%d inputs, saved %s)\n",
			p.Spam, p.Ham, p.New, p.Labels, p.Inputs, p.Saved.Format(time.RFC3339))
	}
}

// networkStat describes a network file and its learner's training pools
// for `sluice stat`.
type networkStat struct {
	Path        string
	Enabled     bool   // [neural] enabled: scanners load it
	Missing     bool   `json:",omitempty"` // no file yet (the pools exist)
	Error       string `json:",omitempty"` // why it is refused; the other fields are then zero
	Epoch       uint64
	SpamSamples uint64
	HamSamples  uint64
	Inputs      int
	InputNames  []string
	Hidden      int
	HiddenAct   string
	OutAct      string
	Created     time.Time
	AgeSeconds  int64
	Digest      string    // hex SHA-256 of the input names
	Pools       *poolStat `json:",omitempty"` // the learner's training samples
}

// poolStat describes the learner's training pools of one network.
type poolStat struct {
	Path      string
	Error     string `json:",omitempty"` // why the file cannot be read
	Spam, Ham int    // samples per class
	New       int    // added since the last training (max_train starts one)
	Labels    int    // messages whose class an explicit learn set
	Inputs    int    // the pools' input set
	Epoch     uint64 // publications of the current network
	Saved     time.Time
}

// statNetwork reads the network file of a settings profile ("" the
// default one) and its pool file; nil when neither exists.
func statNetwork(cfg config.Config, profile string) (*networkStat, error) {
	path, err := profilePath(cfg, profile)
	if err != nil {
		return nil, err
	}
	st := &networkStat{Path: path, Enabled: cfg.Neural.Enabled}
	if st.Pools, err = statPools(cfg, path); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if st.Pools == nil {
			return nil, nil
		}
		st.Missing = true
		return st, nil
	}
	n, err := nn.Load(path)
	if err != nil {
		st.Error = err.Error()
		return st, nil
	}
	st.Epoch, st.SpamSamples, st.HamSamples = n.Epoch, n.SpamSamples, n.HamSamples
	st.Inputs, st.InputNames, st.Hidden = len(n.Inputs), n.Inputs, n.Hidden
	st.HiddenAct, st.OutAct = n.HiddenAct.String(), n.OutAct.String()
	st.Created, st.AgeSeconds = n.Created, int64(max(0, time.Since(n.Created))/time.Second)
	st.Digest = hex.EncodeToString(n.Digest[:])
	return st, nil
}

// statPools reads the pool file of a network file; nil when there is
// none.
func statPools(cfg config.Config, networkFile string) (*poolStat, error) {
	path, err := poolPath(cfg, networkFile)
	if err != nil {
		return nil, err
	}
	p, err := learner.ReadPools(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return &poolStat{Path: path, Error: err.Error()}, nil
	}
	return &poolStat{Path: path, Spam: len(p.Spam), Ham: len(p.Ham), New: p.New, Labels: len(p.Labels),
		Inputs: len(p.Names), Epoch: p.Epoch, Saved: p.Saved}, nil
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
		if path, err = statfilePath(cfg); err != nil {
			return err
		}
	}
	if *repair {
		rep, err := mmapstore.RepairJournal(path, writerOptions(cfg, nil))
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
