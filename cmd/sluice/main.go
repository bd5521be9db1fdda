// Command sluice is the Sluice spam filter: one binary whose subcommands
// tokenize, learn, scan and evaluate mail, inspect and check the statfile, and
// run the milter and learner daemons.
//
// Every command takes --config FILE (TOML, optional: embedded defaults
// otherwise) and --data-dir DIR (default ./sluice-data, created on first use);
// output meant for scripts has a --json form. Run `sluice help` for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// SLUICE_CPUPROFILE=FILE writes a CPU profile of the command, for
	// developers measuring where time goes.
	if path := os.Getenv("SLUICE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	pprof.StopCPUProfile()
	os.Exit(code)
}

// run executes one command line and returns the process exit code. It is the
// whole program minus os.Exit, so tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c := lookup(rest[0]); c != nil {
				return run(ctx, []string{c.name, "--help"}, stdin, stdout, stderr)
			}
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(stderr, "sluice: unknown command %q\n\n", name)
		usage(stderr)
		return exitUsage
	}
	std := &stdio{in: stdin, out: stdout, err: stderr}
	err := c.run(ctx, std, rest)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "sluice %s: %v\n", name, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "sluice %s: %v\n", name, err)
	return 1
}

// command is one subcommand: run parses its own flags from args.
type command struct {
	name     string
	synopsis string
	run      func(ctx context.Context, std *stdio, args []string) error
}

// commands is the one list of subcommands; `sluice help` prints it in order.
var commands = []command{
	{"tokens", "print the words and tokens of a message", cmdTokens},
	{"serve", "run milter, learner and spamd listener in one process (start here)", cmdServe},
	{"learn", "learn messages as spam or ham (through the learner when it runs)", cmdLearn},
	{"scan", "classify messages: verdict, score, symbols", cmdScan},
	{"eval", "measure accuracy: learn a train list, classify a test list", cmdEval},
	{"stat", "print what is in the statfile", cmdStat},
	{"fsck", "check the statfile and its journal", cmdFsck},
	{"dump", "write a backup of the live statfile to stdout (--format text: one token per line)", cmdDump},
	{"load", "restore a backup made by dump over the statfile, atomically", cmdLoad},
	{"milter", "run the milter that Postfix and Sendmail call for every message", cmdMilter},
	{"spamd", "run the spamd/rspamd listener for Exim, spamc and rspamc", cmdSpamd},
	{"learner", "run the learner: the statfile's writer, for sluice learn, rspamc and autolearn", cmdLearner},
	{"cluster", "status [--json]: this host's place in the cluster (cursor, lag, marks, outbox, digest)", cmdCluster},
	{"config", "print the default configuration as a commented TOML file", cmdConfig},
	{"version", "print the version and build information", cmdVersion},
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: sluice COMMAND [flags] [args]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.synopsis)
	}
	fmt.Fprint(w, "\nEvery command takes --config FILE and --data-dir DIR; `sluice COMMAND --help` lists its flags.\n")
}
