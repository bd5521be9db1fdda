package learner

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/sluicemail/sluice/nn"
)

// NetworkStat describes a network file the learner publishes and its
// training pools, for `sluice stat`.
type NetworkStat struct {
	Path        string
	Enabled     bool   // [neural] enabled: scanners load it (the caller says)
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
	Digest      string     // hex SHA-256 of the input names
	Pools       *PoolsStat `json:",omitempty"` // the learner's training samples
}

// PoolsStat describes the training pools of one network.
type PoolsStat struct {
	Path      string
	Error     string `json:",omitempty"` // why the file cannot be read
	Spam, Ham int    // samples per class
	New       int    // added since the last training (max_train starts one)
	Labels    int    // messages whose class an explicit learn set
	Inputs    int    // the pools' input set
	Epoch     uint64 // publications of the current network
	Saved     time.Time
}

// StatNetwork reads the network file at path and its pool file (ages
// are as of now); nil when neither exists. A file that is refused, or
// unreadable pools, are described with the reason.
func StatNetwork(path, poolFile string, now time.Time) *NetworkStat {
	st := &NetworkStat{Path: path}
	st.Pools = statPools(poolFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if st.Pools == nil {
			return nil
		}
		st.Missing = true
		return st
	}
	n, err := nn.Load(path)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.Epoch, st.SpamSamples, st.HamSamples = n.Epoch, n.SpamSamples, n.HamSamples
	st.Inputs, st.InputNames, st.Hidden = len(n.Inputs), n.Inputs, n.Hidden
	st.HiddenAct, st.OutAct = n.HiddenAct.String(), n.OutAct.String()
	st.Created, st.AgeSeconds = n.Created, int64(max(0, now.Sub(n.Created))/time.Second)
	st.Digest = hex.EncodeToString(n.Digest[:])
	return st
}

// statPools reads a pool file; nil when there is none.
func statPools(path string) *PoolsStat {
	p, err := ReadPools(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return &PoolsStat{Path: path, Error: err.Error()}
	}
	return &PoolsStat{Path: path, Spam: len(p.Spam), Ham: len(p.Ham), New: p.New, Labels: len(p.Labels),
		Inputs: len(p.Names), Epoch: p.Epoch, Saved: p.Saved}
}

// WriteText writes a network's lines of `sluice stat` to a tabwriter,
// under title; nothing for a nil ns.
func (ns *NetworkStat) WriteText(tw io.Writer, title string) {
	if ns == nil {
		return
	}
	state := ""
	if !ns.Enabled {
		state = " (neural.enabled is off: not in service)"
	}
	switch {
	case ns.Missing:
		fmt.Fprintf(tw, "%s\t%s: none published yet\n", title, ns.Path)
	case ns.Error != "":
		fmt.Fprintf(tw, "%s\t%s%s\n", title, ns.Path, state)
		fmt.Fprintf(tw, "  refused\t%s\n", ns.Error)
	default:
		fmt.Fprintf(tw, "%s\t%s%s\n", title, ns.Path, state)
		fmt.Fprintf(tw, "  epoch\t%d\n", ns.Epoch)
		fmt.Fprintf(tw, "  samples\tspam %d, ham %d\n", ns.SpamSamples, ns.HamSamples)
		fmt.Fprintf(tw, "  inputs\t%d (%d hidden units, %s/%s)\n", ns.Inputs, ns.Hidden, ns.HiddenAct, ns.OutAct)
		fmt.Fprintf(tw, "  age\t%s (created %s)\n", time.Duration(ns.AgeSeconds)*time.Second, ns.Created.Format(time.RFC3339))
		fmt.Fprintf(tw, "  digest\t%s\n", ns.Digest)
	}
	if p := ns.Pools; p != nil {
		if p.Error != "" {
			fmt.Fprintf(tw, "  pools\t%s: unreadable: %s\n", p.Path, p.Error)
			return
		}
		fmt.Fprintf(tw, "  pools\tspam %d, ham %d, %d new since the last training, %d labelled by learns (%d inputs, saved %s)\n",
			p.Spam, p.Ham, p.New, p.Labels, p.Inputs, p.Saved.Format(time.RFC3339))
	}
}
