package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/nn"
)

func TestEvalNeural(t *testing.T) {
	for _, tc := range []struct {
		name  string
		folds []string
	}{
		{"leave-one-out (the default)", nil},
		{"out of 3 folds", []string{"--nn-folds", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) { testEvalNeural(t, tc.folds) })
	}
}

func testEvalNeural(t *testing.T, folds []string) {
	dir := t.TempDir()
	writeEvalLists(t, dir, 60)
	saved := filepath.Join(dir, "neural.nn")
	args := append([]string{"eval", "--nn", "--json", "--nn-save", saved,
		"--train", filepath.Join(dir, "train.list"), "--test", filepath.Join(dir, "test.list")}, folds...)
	code, out, errs := sluice(t, "", args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		With struct {
			N        int     `json:"n"`
			Accuracy float64 `json:"accuracy"`
		} `json:"with_network"`
		TrainWith *struct {
			N int `json:"n"`
		} `json:"train_with_network"`
		Samples  int `json:"training_samples"`
		Training struct {
			Shrink float64
		} `json:"training"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.With.N != 30 || r.With.Accuracy != 1 || r.Samples != 90 {
		t.Fatalf("eval --nn on a trivially separable set: %s", out)
	}
	// The train list's out-of-sample scores (for choosing add_header) come
	// with the shrinkage folds' figures.
	if r.TrainWith == nil || r.TrainWith.N != 90 || r.Training.Shrink < 0 || r.Training.Shrink > 1 {
		t.Fatalf("train_with_network or the shrinkage missing: %s", out)
	}
	// --nn-save writes the network a scanner loads: the one measured.
	n, err := nn.Load(saved)
	if err != nil {
		t.Fatalf("--nn-save: %v", err)
	}
	if n.Epoch != 1 || n.SpamSamples+n.HamSamples != 90 {
		t.Fatalf("saved network: epoch %d, %d+%d samples", n.Epoch, n.SpamSamples, n.HamSamples)
	}
}
