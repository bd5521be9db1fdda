package main

import (
	"log/slog"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learnstack"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/scanstack"
)

// The options the tests build their statfiles and scanners with: the
// commands' own (learnstack's and scanstack's).

func scanOptions(cfg config.Config) scan.Options { return scanstack.Options(cfg) }

func learnOptions(cfg config.Config) learn.Options { return learnstack.LearnOptions(cfg) }

func writerOptions(cfg config.Config, log *slog.Logger) *mmapstore.Options {
	return learnstack.WriterOptions(cfg, log)
}
