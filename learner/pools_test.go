package learner

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/sluicemail/sluice/nn"
)

// TestPoolsSavedBeforeAnyRecord: a learner stopped before any scan record
// saves pools with no input set; the next start reads them back instead
// of calling them unreadable (issue 14, finding 9).
func TestPoolsSavedBeforeAnyRecord(t *testing.T) {
	dir := t.TempDir()
	opts := Neural{File: filepath.Join(dir, "neural.nn"), PoolFile: filepath.Join(dir, "neural.nn.pools")}
	if err := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(nil)).save(); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPools(opts.PoolFile); err != nil {
		t.Fatalf("pools saved before any record: %v", err)
	}
	var logs bytes.Buffer
	newTrainer(opts, slog.New(slog.NewTextHandler(&logs, nil)), NewMetrics(nil))
	if bytes.Contains(logs.Bytes(), []byte("unreadable")) {
		t.Fatalf("the next start: %s", logs.Bytes())
	}
}

// TestPoolsInScannerOrder: pools started from a scan record keep the
// scanner's input order, which need not be sorted; they read back.
func TestPoolsInScannerOrder(t *testing.T) {
	dir := t.TempDir()
	opts := Neural{File: filepath.Join(dir, "neural.nn"), PoolFile: filepath.Join(dir, "neural.nn.pools")}
	tr := newTrainer(opts, slog.New(slog.DiscardHandler), NewMetrics(nil))
	names := []string{"RULE_B", "RULE_A", "bayes_prob"}
	tr.p.Names, tr.p.Digest = names, nn.InputDigest(names)
	tr.p.Spam = []Sample{{X: []float32{1, 0, 0.9}}}
	if err := tr.save(); err != nil {
		t.Fatal(err)
	}
	p, err := loadPools(opts.PoolFile)
	if err != nil {
		t.Fatalf("pools in the scanner's order: %v", err)
	}
	if len(p.Spam) != 1 || p.Names[0] != "RULE_B" {
		t.Fatalf("read back %+v", p)
	}
}
