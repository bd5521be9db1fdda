package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/statdump"
)

// cmdLoad restores a backup written by `sluice dump` (from FILE or stdin)
// over the statfile, atomically: through the running learner, which goes
// on learning into the restored file, else under the writer lock.
func cmdLoad(ctx context.Context, std *stdio, args []string) error {
	fset, c := newFlags("load", "[BACKUP]", std, false)
	if err := parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 1 {
		return &exitError{code: exitUsage, err: errors.New("load takes at most one file (default: stdin)")}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	var in io.Reader = std.in
	if name := fset.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	opts := learnstack.DoorOptions(cfg, nil)
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("data directory: %w (the daemons create it)", err)
	}
	sum, err := learner.Load(ctx, learner.BackupOptions{Socket: opts.Socket, Statfile: opts.Statfile, Writer: opts.Writer}, in)
	var pe *mmapstore.ParamsError
	if errors.Is(err, statdump.ErrFormat) || errors.Is(err, statdump.ErrVersion) || errors.Is(err, statdump.ErrTruncated) ||
		errors.Is(err, statdump.ErrCorrupt) || errors.As(err, &pe) {
		return &exitError{code: exitDataErr, err: err} // the backup is unusable here: nothing changed
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(std.err, "sluice load: %s: %d tokens, %d namespaces restored\n", opts.Statfile, sum.Tokens, sum.Namespaces)
	return nil
}
