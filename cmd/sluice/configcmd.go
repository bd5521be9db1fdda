package main

import (
	"context"

	"github.com/sluicemail/sluice/config"
)

// cmdConfig prints the defaults (or, with --config, checks the file and
// prints the configuration in effect).
func cmdConfig(_ context.Context, std *stdio, args []string) error {
	fs, c := newFlags("config", "", std, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	if c.configPath == "" {
		return config.WriteDefaults(std.out)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	return config.Write(std.out, cfg)
}
