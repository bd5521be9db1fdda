package config

import (
	"fmt"
	"time"
)

// Greylist configures the triplet memory of the greylist action (package
// greylist): used by the milter when [actions] greylist (or a profile's)
// is above 0.
type Greylist struct {
	File       string   `toml:"file" comment:"Where the milter keeps the (client /24, sender, recipient) triplets it has seen; relative paths are below data_dir."`
	Delay      Duration `toml:"delay" comment:"A retry sooner than this after the first attempt is deferred again."`
	Window     Duration `toml:"window" comment:"A first attempt not retried within this is forgotten."`
	Expire     Duration `toml:"expire" comment:"A triplet that passed is let through at once until it has not been seen for this long. This section is read at start, not on SIGHUP."`
	MaxEntries int      `toml:"max_entries" comment:"Triplets kept; past it the oldest that never passed are forgotten first."`
}

func defaultGreylist() Greylist {
	return Greylist{
		File:       "greylist.db",
		Delay:      Duration(5 * time.Minute),
		Window:     Duration(48 * time.Hour),
		Expire:     Duration(35 * 24 * time.Hour),
		MaxEntries: 1_000_000,
	}
}

// validate checks the greylist section; each error names its key.
func (g Greylist) validate() []error {
	var errs []error
	add := func(key string, ok bool, msg string) {
		if !ok {
			errs = append(errs, fmt.Errorf("greylist.%s: %s", key, msg))
		}
	}
	add("file", g.File != "", "must not be empty")
	add("delay", g.Delay > 0, "must be positive")
	add("window", g.Window > g.Delay, "must be longer than delay")
	add("expire", g.Expire > 0, "must be positive")
	add("max_entries", g.MaxEntries > 0, "must be positive")
	return errs
}
