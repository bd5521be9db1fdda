package main

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/socket"
)

// This file maps the configuration onto the learner: its service for
// `sluice learner` and `sluice serve` (learner.Service: the writer, the
// daemon, its unix socket, HTTP endpoints and scan record socket), its
// front door for `sluice learn` and `sluice spamd` (learner.Door), and the
// training cycles of its networks.

func learnerSocket(cfg config.Config) (string, error) { return dataPath(cfg, cfg.Learner.Socket) }

func learnerSpool(cfg config.Config) (*learner.Spool, error) {
	dir, err := dataPath(cfg, cfg.Learner.SpoolDir)
	if err != nil {
		return nil, err
	}
	return learner.NewSpool(dir, cfg.Learner.SpoolMax, int64(cfg.Learner.MaxMessageSize)), nil
}

// learnDoor is the learner's front door for `sluice learn`: the daemon's
// socket, else the statfile directly, else the spool.
func learnDoor(cfg config.Config, log *slog.Logger) (*learner.Door, error) {
	opts, err := doorOptions(cfg, log)
	if err != nil {
		return nil, err
	}
	if opts.Spool, err = learnerSpool(cfg); err != nil {
		return nil, err
	}
	return learner.NewDoor(opts), nil
}

// doorOptions are the ways of a Door but the spool: the daemon's socket and
// the statfile.
func doorOptions(cfg config.Config, log *slog.Logger) (learner.DoorOptions, error) {
	socket, err := learnerSocket(cfg)
	if err != nil {
		return learner.DoorOptions{}, err
	}
	statfile, err := statfilePath(cfg)
	if err != nil {
		return learner.DoorOptions{}, err
	}
	return learner.DoorOptions{
		Socket: socket, Statfile: statfile, Writer: writerOptions(cfg, log), Learn: learnOptions(cfg),
		MaxMessage: int64(cfg.Learner.MaxMessageSize), Timeout: cfg.Learner.ClientTimeout.D(),
	}, nil
}

// learnerNeural configures the network's training cycle: with [neural]
// enabled, the learner trains on the milters' scan records (and explicit
// learns) and publishes [neural] file; with use_settings, each settings
// profile's records train the profile's own network (profiles). Pools are
// kept in the data directory, in <network file's name>.pools.
func learnerNeural(cfg config.Config) (def learner.Neural, profiles map[string]learner.Neural, err error) {
	if !cfg.Neural.Enabled {
		return learner.Neural{}, nil, nil
	}
	if def, err = learnerNetwork(cfg, ""); err != nil {
		return learner.Neural{}, nil, err
	}
	if !cfg.Neural.UseSettings {
		return def, nil, nil
	}
	for _, name := range cfg.ProfileNames() {
		o, err := learnerNetwork(cfg, name)
		if err != nil {
			return learner.Neural{}, nil, err
		}
		if profiles == nil {
			profiles = make(map[string]learner.Neural)
		}
		profiles[name] = o
	}
	return def, profiles, nil
}

// learnerNetwork is the training cycle of one profile's network ("": the
// default one).
func learnerNetwork(cfg config.Config, profile string) (learner.Neural, error) {
	n := cfg.Neural
	file, err := profilePath(cfg, profile)
	if err != nil {
		return learner.Neural{}, err
	}
	pools, err := poolPath(cfg, file)
	if err != nil {
		return learner.Neural{}, err
	}
	return learner.Neural{
		File: file, PoolFile: pools, SpamScore: n.SpamScore, HamScore: n.HamScore,
		MaxTrain: n.MaxTrain, MaxEpoch: n.MaxEpoch, PoolSize: n.PoolSize, Hidden: n.Hidden,
	}, nil
}

// poolPath is where the learner keeps the training pools of the network
// file: <its name>.pools in the data directory.
func poolPath(cfg config.Config, networkFile string) (string, error) {
	return dataPath(cfg, filepath.Base(networkFile)+".pools")
}

// openLearner maps the configuration onto a learner.Service and opens
// it; a held writer lock gives exit 75 with a clear message.
func openLearner(cfg config.Config, log *slog.Logger, reg *prometheus.Registry) (*learner.Service, error) {
	statfile, err := statfilePath(cfg)
	if err != nil {
		return nil, err
	}
	socketPath, err := learnerSocket(cfg)
	if err != nil {
		return nil, err
	}
	lc := cfg.Learner
	mode, _ := lc.Mode()
	gid, err := socket.LookupGroup(lc.SocketGroup)
	if err != nil {
		return nil, &exitError{code: 78, err: err}
	}
	spool, err := learnerSpool(cfg)
	if err != nil {
		return nil, err
	}
	neural, neuralProfiles, err := learnerNeural(cfg)
	if err != nil {
		return nil, err
	}
	svc, err := learner.OpenService(learner.ServiceOptions{
		Statfile: statfile,
		Writer:   writerOptions(cfg, log),
		Daemon: learner.Options{
			Learn:          learnOptions(cfg),
			MaxBatch:       lc.MaxBatch,
			MaxMessage:     int64(lc.MaxMessageSize),
			SpoolInterval:  lc.SpoolInterval.D(),
			Neural:         neural,
			NeuralProfiles: neuralProfiles,
			Autolearn: learner.Autolearn{
				Enabled: lc.Autolearn, SpamScore: lc.SpamScore, HamScore: lc.HamScore,
				MinProb: lc.MinProb, MinBalance: lc.MinBalance, Local: lc.AutolearnLocal,
			},
		},
		Socket: socketPath, SocketMode: fsMode(mode), SocketGroup: lc.SocketGroup,
		Spool: spool, SpoolGroup: gid,
		FeedSocket: cfg.Milter.FeedSocket,
		HTTPListen: lc.HTTPListen, Password: lc.Password, MaxLearns: lc.MaxLearns, Registry: reg,
		RequestTimeout: lc.ShutdownTimeout.D() + time.Minute, ShutdownTimeout: lc.ShutdownTimeout.D(),
		Logger: log,
	})
	if errors.Is(err, mmapstore.ErrLocked) {
		return nil, &exitError{code: exitTempFail, err: fmt.Errorf("another learner (or sluice learn) holds the statfile: %w", err)}
	}
	return svc, err
}
