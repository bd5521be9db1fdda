package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Neural configures the neural post-classifier (package nn): the weights
// file the learner publishes and scanners load, the scores of its symbols,
// and the learner's training cycle (option names as in rspamd's neural
// module).
type Neural struct {
	Enabled    bool    `toml:"enabled" comment:"Load the network file (when there is one) and add NEURAL_SPAM or NEURAL_HAM to every verdict."`
	File       string  `toml:"file" comment:"Network file; relative paths are below data_dir."`
	SpamWeight float64 `toml:"spam_weight" comment:"NEURAL_SPAM scores this times the network's log-odds of spam. The network is trained to add its\nlog-odds to BAYES_SPAM/BAYES_HAM's score (its offset); 0.5 makes the score the mean of Bayes alone and Bayes corrected\nby the network, which 4-fold cross-validation preferred: (1-AUC)% / FN at FP <= 0.1% 0.0184 / 3.00% against 0.0210 /\n3.37% at 1, 0.0196 / 3.05% at 0.25 and 0.0235 / 3.75% for Bayes alone."`
	HamWeight  float64 `toml:"ham_weight" comment:"NEURAL_HAM scores this times the network's log-odds of ham (negative; -spam_weight keeps the score\nmonotone in the network's output)."`
	SpamScore  float64 `toml:"spam_score" comment:"Scanned mail at or above this score is a spam training sample."`
	HamScore   float64 `toml:"ham_score" comment:"Scanned mail at or below this score is a ham training sample."`
	MaxTrain   int     `toml:"max_train" comment:"New samples after which the network is trained again and published."`
	MaxEpoch   int     `toml:"max_epoch" comment:"Publications after which a fresh network is started on recent data."`
	PoolSize   int     `toml:"pool_size" comment:"Training samples kept per class (the oldest are dropped); as many scan records between ham_score and spam_score\nwait for a user's learn to give them a class."`
	Hidden     int     `toml:"hidden" comment:"Hidden units of each of the 9 networks the trainer averages (0: 1.5 × inputs, at most 16)."`
	// UseSettings is rspamd's option of the same name.
	UseSettings bool `toml:"use_settings" comment:"A network and training pools per settings profile ([profiles]): a profile's network is file with the profile's\nname before the extension (neural.finance.nn). Until a profile's own network is published, its mail is scored by the\ndefault network. Off: one network for all mail."`
}

func defaultNeural() Neural {
	return Neural{
		Enabled:    true,
		File:       "neural.nn",
		SpamWeight: 0.5,
		HamWeight:  -0.5,
		SpamScore:  8,
		HamScore:   -2,
		MaxTrain:   1000,
		MaxEpoch:   100,
		PoolSize:   5000,
	}
}

func (n Neural) validate() []error {
	var errs []error
	check := func(ok bool, key, msg string) {
		if !ok {
			errs = append(errs, fmt.Errorf("neural.%s: %s", key, msg))
		}
	}
	check(n.File != "", "file", "must not be empty")
	check(n.SpamWeight > 0, "spam_weight", "must be positive (rspamd's default of 0 silently disables the network)")
	check(n.HamWeight < 0, "ham_weight", "must be negative")
	check(n.HamScore < n.SpamScore, "ham_score", "must be below spam_score")
	check(n.MaxTrain > 0, "max_train", "must be positive")
	check(n.MaxEpoch > 0, "max_epoch", "must be positive")
	check(n.PoolSize >= 10, "pool_size", "must be at least 10")
	check(n.Hidden >= 0 && n.Hidden <= 4096, "hidden", "must be between 0 and 4096")
	return errs
}

// ProfileFile is the network file of a settings profile under
// use_settings: file with the profile's name before its extension
// (neural.nn → neural.finance.nn); "" is file itself.
func (n Neural) ProfileFile(profile string) string {
	if profile == "" {
		return n.File
	}
	ext := filepath.Ext(n.File)
	return strings.TrimSuffix(n.File, ext) + "." + profile + ext
}
