package main

import (
	"log/slog"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mbox"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/scanstack"
)

// The options evalcmd.go builds its private statfile and scanner with
// (learnstack's and scanstack's), and the messages of `sluice scan`.

func scanOptions(cfg config.Config) scan.Options { return scanstack.Options(cfg) }

func learnOptions(cfg config.Config) learn.Options { return learnstack.LearnOptions(cfg) }

func writerOptions(cfg config.Config, log *slog.Logger) *mmapstore.Options {
	return learnstack.WriterOptions(cfg, log)
}

// message is one input message: where it came from and its bytes.
type message struct {
	name string
	data []byte
}

// walkMessages calls fn for each message named by paths (mbox.Walk); no
// paths means one message on stdin.
func walkMessages(std *stdio, paths []string, fn func(message) error) error {
	each := func(name string, data []byte) error { return fn(message{name, data}) }
	if len(paths) == 0 {
		data, err := readAllLimited(std.in)
		if err != nil {
			return err
		}
		return mbox.Split("-", data, each)
	}
	return mbox.Walk(paths, each)
}
