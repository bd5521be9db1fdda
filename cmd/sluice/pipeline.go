package main

import (
	"log/slog"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mbox"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/scanstack"
)

// This file maps the configuration onto the options of the learning side
// (the scanning side's are scanstack's), so that every command builds
// them the same way.

func statfilePath(cfg config.Config) (string, error) { return cfg.StatfilePath(), nil }

func scanOptions(cfg config.Config) scan.Options { return scanstack.Options(cfg) }

func learnOptions(cfg config.Config) learn.Options {
	return learn.Options{
		Tokenizer:         scanstack.TokenizerOptions(cfg),
		UsersEnabled:      cfg.Classifier.UsersEnabled,
		LanguagesEnabled:  cfg.Classifier.LanguagesEnabled,
		MaxUserNamespaces: cfg.Learner.MaxUsers,
	}
}

func writerOptions(cfg config.Config, log *slog.Logger) *mmapstore.Options {
	return &mmapstore.Options{
		Params:       scanstack.StoreParams(cfg),
		InitialSlots: cfg.Statfile.InitialSlots,
		MaxBytes:     int64(cfg.Statfile.MaxSize),
		MaxLoad:      cfg.Statfile.MaxLoad,
		Logger:       log,
	}
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

// neuralPath is the network file: [neural] file, relative paths below the
// data directory.
func neuralPath(cfg config.Config) (string, error) { return cfg.NetworkPath(""), nil }

// profilePath is the network file of a settings profile ("": the default
// one), below the data directory when relative.
func profilePath(cfg config.Config, profile string) (string, error) {
	return cfg.NetworkPath(profile), nil
}
