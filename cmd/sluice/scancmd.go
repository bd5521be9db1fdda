package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/sluicemail/sluice/mbox"
	"github.com/sluicemail/sluice/profile"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/scanstack"
	"github.com/sluicemail/sluice/tokenizer"
)

// cmdScan classifies messages and prints a line (or a JSON object) each.
func cmdScan(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("scan", "[PATH...]", std, true)
	explain := fs.Bool("explain", false, "list the tokens that weighed most, as words")
	user := fs.String("user", "", "classify with this user's statistics (with users_enabled)")
	profileName := fs.String("profile", "", "judge by this settings profile ([profiles]); default: the profile of --user, if any")
	workers := fs.Int("workers", 0, "messages scanned at once (0: one per core)")
	sender := fs.String("sender", "", "envelope sender (MAIL FROM) for the allow and block lists ([lists])")
	rcpts := fs.String("rcpt", "", "envelope recipients for the lists, separated by commas")
	client := fs.String("client", "", "SMTP client address for the lists")
	if err := parse(fs, args); err != nil {
		return err
	}
	env, err := scan.ParseEnvelope(*sender, *rcpts, *client)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--client: %w", err)}
	}
	if *workers <= 0 {
		*workers = runtime.GOMAXPROCS(0)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	// The network file is loaded once: a scan run is short. Its refusal
	// is a warning; its loading is not news on a terminal.
	logCfg := cfg
	if logCfg.Log.Level == "info" {
		logCfg.Log.Level = "warn"
	}
	stack := scanstack.New(cfg, newLogger(logCfg, std.err))
	defer stack.Close()
	s := stack.Scanner
	req := scan.Request{User: *user, Explain: *explain, Envelope: env}
	if req.Profile, err = profile.New(cfg.Profiles).Choose(*profileName, *user); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--profile: %w", err)}
	}
	var firstBad error
	// Messages are scanned by one worker per core and printed in input
	// order: a Scanner is safe for concurrent use.
	walk := func(yield func(string, []byte) error) error {
		return mbox.WalkInput(std.in, maxInput, fs.Args(), yield)
	}
	err = s.ScanOrdered(ctx, *workers, req, walk, func(name string, v *scan.Verdict, err error) error {
		if tokenizer.IsNotMessage(err) {
			if firstBad == nil {
				firstBad = fmt.Errorf("%s: %w", name, err)
			}
			fmt.Fprintf(std.err, "sluice scan: %s: %v\n", name, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if c.json {
			return writeJSON(std.out, struct {
				Path string `json:"path"`
				*scan.Verdict
			}{name, v})
		}
		v.WriteText(std.out, name, *explain)
		return nil
	})
	if err != nil {
		return err
	}
	if firstBad != nil {
		return &exitError{code: exitDataErr}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
