// Package learnstack assembles the learning side from the configuration,
// the same way for every command: the learner's service (`sluice learner`
// and `sluice serve`: the writer, the daemon, its unix socket, HTTP
// endpoints, spool and scan record socket), its front door (`sluice
// learn`, the spamd listener's learns: learner.Door), and the training
// cycles of its networks. Relative paths land below the data directory.
package learnstack

import (
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicemail/sluice/cluster"
	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/learner"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/scan"
	"github.com/sluicemail/sluice/scanstack"
	"github.com/sluicemail/sluice/socket"
)

// LearnOptions maps the configuration onto learn's options.
func LearnOptions(cfg config.Config) learn.Options {
	return learn.Options{
		Tokenizer:         scanstack.TokenizerOptions(cfg),
		UsersEnabled:      cfg.Classifier.UsersEnabled,
		LanguagesEnabled:  cfg.Classifier.LanguagesEnabled,
		MaxUserNamespaces: cfg.Learner.MaxUsers,
	}
}

// WriterOptions maps the configuration onto the statfile writer's
// options.
func WriterOptions(cfg config.Config, log *slog.Logger) *mmapstore.Options {
	return &mmapstore.Options{
		Params:       scanstack.StoreParams(cfg),
		InitialSlots: cfg.Statfile.InitialSlots,
		MaxBytes:     int64(cfg.Statfile.MaxSize),
		MaxLoad:      cfg.Statfile.MaxLoad,
		Logger:       log,
	}
}

// Spool is the learner's spool: [learner] spool_dir.
func Spool(cfg config.Config) *learner.Spool {
	return learner.NewSpool(cfg.DataPath(cfg.Learner.SpoolDir), cfg.Learner.SpoolMax, int64(cfg.Learner.MaxMessageSize))
}

// Door is the learner's front door for `sluice learn`: the daemon's
// socket, else the statfile directly, else the spool.
func Door(cfg config.Config, log *slog.Logger) *learner.Door {
	opts := DoorOptions(cfg, log)
	opts.Spool = Spool(cfg)
	opts.Logger = log // one line per learn the daemon did not answer
	return learner.NewDoor(opts)
}

// DoorOptions are the ways of a Door but the spool: the daemon's socket
// and the statfile.
func DoorOptions(cfg config.Config, log *slog.Logger) learner.DoorOptions {
	return learner.DoorOptions{
		Socket: cfg.DataPath(cfg.Learner.Socket), Statfile: cfg.StatfilePath(), Writer: WriterOptions(cfg, log), Learn: LearnOptions(cfg),
		MaxMessage: int64(cfg.Learner.MaxMessageSize), Timeout: cfg.Learner.ClientTimeout.D(),
		NoDirect: cfg.Cluster.Enabled, // a cluster host's learns go through its learner (or spool)
	}
}

// Cluster opens the host's membership of its cluster as [cluster] says,
// applying through app, its metrics on reg; nil when [cluster] is off.
func Cluster(cfg config.Config, reg prometheus.Registerer, log *slog.Logger) func(app cluster.Applier) (*cluster.Host, error) {
	if !cfg.Cluster.Enabled {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(app cluster.Applier) (*cluster.Host, error) {
		return cluster.Open(cfg.Cluster, cfg.DataDir, app, reg, log.With("part", "cluster"))
	}
}

// Neural configures the networks' training cycle: with [neural] enabled,
// the learner trains on the milters' scan records (and explicit learns)
// and publishes [neural] file; with use_settings, each settings profile's
// records train the profile's own network (profiles). Pools are kept in
// the data directory, in <network file's name>.pools (PoolPath).
func Neural(cfg config.Config) (def learner.Neural, profiles map[string]learner.Neural) {
	if !cfg.Neural.Enabled {
		return learner.Neural{}, nil
	}
	if !cfg.Neural.UseSettings {
		return network(cfg, ""), nil
	}
	for _, name := range cfg.ProfileNames() {
		if profiles == nil {
			profiles = make(map[string]learner.Neural)
		}
		profiles[name] = network(cfg, name)
	}
	return network(cfg, ""), profiles
}

// network is the training cycle of one profile's network ("": the
// default one).
func network(cfg config.Config, profile string) learner.Neural {
	n := cfg.Neural
	file := cfg.NetworkPath(profile)
	return learner.Neural{
		File: file, PoolFile: PoolPath(cfg, file), SpamScore: n.SpamScore, HamScore: n.HamScore,
		MaxTrain: n.MaxTrain, MaxEpoch: n.MaxEpoch, PoolSize: n.PoolSize, Hidden: n.Hidden,
		Weight: n.SpamWeight,
	}
}

// Rescorer makes the scanner through which the learner rescores its
// networks' samples leave-one-out (learner.Rescorer): Bayes alone, as
// the scanners classify.
func Rescorer(cfg config.Config) func(*mmapstore.Writer) learner.Rescorer {
	return func(w *mmapstore.Writer) learner.Rescorer { return scan.New(w, scanstack.Options(cfg)) }
}

// PoolPath is where the learner keeps the training pools of the network
// file: <its name>.pools in the data directory.
func PoolPath(cfg config.Config, networkFile string) string {
	return cfg.DataPath(filepath.Base(networkFile) + ".pools")
}

// ServiceOptions maps the configuration onto the learner's service; its
// error is the configuration's (a socket_group that does not exist).
func ServiceOptions(cfg config.Config, log *slog.Logger, reg *prometheus.Registry) (learner.ServiceOptions, error) {
	lc := cfg.Learner
	mode, _ := lc.Mode()
	gid, err := socket.LookupGroup(lc.SocketGroup)
	if err != nil {
		return learner.ServiceOptions{}, err
	}
	neural, neuralProfiles := Neural(cfg)
	return learner.ServiceOptions{
		Statfile: cfg.StatfilePath(),
		Writer:   WriterOptions(cfg, log),
		Daemon: learner.Options{
			Learn:          LearnOptions(cfg),
			MaxBatch:       lc.MaxBatch,
			MaxMessage:     int64(lc.MaxMessageSize),
			SpoolInterval:  lc.SpoolInterval.D(),
			Neural:         neural,
			NeuralProfiles: neuralProfiles,
			ActivityFile:   cfg.DataPath(ActivityFile),
			Cluster:        learner.ClusterOptions{SnapshotInterval: cfg.Cluster.SnapshotInterval.D(), Bootstrap: cfg.Cluster.Bootstrap},
			NewRescorer:    Rescorer(cfg),
			Autolearn: learner.Autolearn{
				Enabled: lc.Autolearn, SpamScore: lc.SpamScore, HamScore: lc.HamScore,
				MinProb: lc.MinProb, MinBalance: lc.MinBalance, Local: lc.AutolearnLocal,
			},
		},
		Socket: cfg.DataPath(lc.Socket), SocketMode: fs.FileMode(mode) & fs.ModePerm, SocketGroup: lc.SocketGroup,
		Spool: Spool(cfg), SpoolGroup: gid,
		FeedSocket: cfg.Milter.FeedSocket,
		HTTPListen: lc.HTTPListen, Password: lc.Password, MaxLearns: lc.MaxLearns, Registry: reg,
		SymbolWeights:  scanstack.SymbolWeights(cfg),
		RequestTimeout: lc.ShutdownTimeout.D() + time.Minute, ShutdownTimeout: lc.ShutdownTimeout.D(),
		Logger: log, Cluster: Cluster(cfg, reg, log),
	}, nil
}

// ActivityFile is where the learner keeps its activity log (the
// console's history and the accuracy as users see it) across restarts, in
// the data directory.
const ActivityFile = "activity.state"

// StatNetworks describes the configured network files and their pools
// (`sluice stat`): the default network and, with use_settings, each
// profile's; nil for a network whose files do not exist.
func StatNetworks(cfg config.Config, now time.Time) (def *learner.NetworkStat, profiles map[string]*learner.NetworkStat) {
	stat := func(profile string) *learner.NetworkStat {
		file := cfg.NetworkPath(profile)
		st := learner.StatNetwork(file, PoolPath(cfg, file), now)
		if st != nil {
			st.Enabled = cfg.Neural.Enabled
		}
		return st
	}
	if cfg.Neural.UseSettings {
		for _, name := range cfg.ProfileNames() {
			if st := stat(name); st != nil {
				if profiles == nil {
					profiles = make(map[string]*learner.NetworkStat)
				}
				profiles[name] = st
			}
		}
	}
	return stat(""), profiles
}
