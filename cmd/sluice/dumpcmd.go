package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/learnstack"
)

// cmdDump writes a consistent backup of the live statfile to stdout: the
// running learner takes the snapshot between two commits, else this
// process under the writer lock (learner.Dump).
func cmdDump(ctx context.Context, std *stdio, args []string) error {
	fset, c := newFlags("dump", "> BACKUP", std, false)
	format := fset.String("format", "binary", "binary (for sluice load: versioned, compressed, checksummed) or text (one token per line)")
	if err := parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return &exitError{code: exitUsage, err: errors.New("dump takes no arguments: it writes to stdout")}
	}
	f := learner.DumpBinary
	switch *format {
	case "binary":
	case "text":
		f = learner.DumpText
	default:
		return &exitError{code: exitUsage, err: fmt.Errorf("unknown --format %q: binary or text", *format)}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	opts := learnstack.DoorOptions(cfg, nil)
	bw := bufio.NewWriterSize(std.out, 1<<20)
	sum, err := learner.Dump(ctx, learner.BackupOptions{Socket: opts.Socket, Statfile: opts.Statfile, Writer: opts.Writer}, bw, f)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return err
	}
	if f == learner.DumpBinary {
		fmt.Fprintf(std.err, "sluice dump: %d tokens, %d namespaces\n", sum.Tokens, sum.Namespaces)
	}
	return nil
}
