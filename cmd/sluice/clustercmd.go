package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicemail/sluice/learner"
)

// cmdCluster is `sluice cluster status [--json]`: the running learner's
// cluster node and the statfile's replicated state, over its socket.
func cmdCluster(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("cluster", "status", std, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "status" {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	st, err := learner.ReadClusterStatus(ctx, cfg.DataPath(cfg.Learner.Socket), true)
	if errors.Is(err, learner.ErrUnreachable) {
		return &exitError{code: exitTempFail, err: fmt.Errorf("no learner answers (the cluster status is the running learner's): %w", err)}
	}
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(std.out, st)
	}
	return st.WriteText(std.out)
}
