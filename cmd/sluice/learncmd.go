package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// cmdLearn learns messages as spam or ham, writing the statfile under the
// writer lock. Exit codes (what Dovecot's sieve pipe and scripts rely on): 0
// when every message was learned or already learned, 65 when an input is not
// a message, 75 when the statfile is busy (another writer holds it).
func cmdLearn(ctx context.Context, std *stdio, args []string) error {
	fs, c := newFlags("learn", "spam|ham [PATH...]", std, true)
	user := fs.String("user", "", "learn into this user's statistics as well (with users_enabled)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return &exitError{code: exitUsage}
	}
	var class mmapstore.Class
	switch fs.Arg(0) {
	case "spam":
		class = mmapstore.Spam
	case "ham":
		class = mmapstore.Ham
	default:
		return &exitError{code: exitUsage, err: fmt.Errorf("class %q is not spam or ham", fs.Arg(0))}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	path, err := statfilePath(cfg)
	if err != nil {
		return err
	}
	log := newLogger(cfg, std.err)
	w, err := mmapstore.OpenWriter(path, writerOptions(cfg, log))
	if errors.Is(err, mmapstore.ErrLocked) {
		return &exitError{code: exitTempFail, err: err}
	}
	if err != nil {
		return err
	}
	// One journal fsync per batch of messages: a bulk import runs at the
	// speed of tokenizing. Nothing is reported learned before its flush.
	batch := learn.New(w, learnOptions(cfg)).NewBatch(0)
	progress := newProgress(std.err, fs.NArg() > 1 || isDir(fs.Args()[1:]))
	var counts [4]int // by outcome; [0] = not a message
	var firstBad error
	start := time.Now()
	err = walkMessages(std, fs.Args()[1:], func(m message) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		out, err := batch.Add(bytes.NewReader(m.data), class, *user)
		if errors.Is(err, learn.ErrNotMessage) {
			counts[0]++
			if firstBad == nil {
				firstBad = fmt.Errorf("%s: %w", m.name, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		counts[out]++
		progress.tick()
		return nil
	})
	progress.done()
	if ferr := batch.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	summary := learnSummary{
		Class: fs.Arg(0), Learned: counts[learn.Learned], AlreadyLearned: counts[learn.AlreadyLearned],
		Relearned: counts[learn.Relearned], NotMessages: counts[0], Seconds: time.Since(start).Seconds(),
	}
	if c.json {
		if err := writeJSON(std.out, summary); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(std.out, "%s: %d learned, %d already learned, %d relearned from the other class, %d not messages\n",
			summary.Class, summary.Learned, summary.AlreadyLearned, summary.Relearned, summary.NotMessages)
	}
	if firstBad != nil {
		return &exitError{code: exitDataErr, err: firstBad}
	}
	return nil
}

type learnSummary struct {
	Class          string  `json:"class"`
	Learned        int     `json:"learned"`
	AlreadyLearned int     `json:"already_learned"`
	Relearned      int     `json:"relearned"`
	NotMessages    int     `json:"not_messages"`
	Seconds        float64 `json:"seconds"`
}
