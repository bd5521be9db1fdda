package main

import (
	"testing"

	"github.com/sluicemail/sluice/config"
)

func defaultConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
