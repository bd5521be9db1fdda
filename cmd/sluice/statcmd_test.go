package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/config"
	"github.com/sluicemail/sluice/mmapstore"
)

// TestFsckRepair: a journal with a flipped bit in record 6 of 10 makes
// fsck fail and stat warn; fsck --repair keeps the 9 good records and
// leaves a file fsck accepts.
func TestFsckRepair(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	path := cfg.StatfilePath()
	w, err := mmapstore.OpenWriter(path, writerOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(10) {
		if _, err := w.Apply(mmapstore.Op{Class: mmapstore.Spam, Delta: 1, Hashes: []uint64{i + 1, 1000}}); err != nil {
			t.Fatal(err)
		}
	}
	jb, err := os.ReadFile(path + ".journal") // what a crash leaves
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	off := 16 // journal header
	for range 5 {
		off += 16 + int(binary.LittleEndian.Uint32(jb[off:]))
	}
	jb[off+20] ^= 0x10 // record 6's payload
	if err := os.WriteFile(path+".journal", jb, 0o600); err != nil {
		t.Fatal(err)
	}

	code, _, errs := sluice(t, "", "fsck", "--data-dir", dir)
	if code != exitCorrupt || !strings.Contains(errs, "record 6 ") || !strings.Contains(errs, "--repair") {
		t.Fatalf("fsck: exit %d, stderr %q", code, errs)
	}
	code, _, errs = sluice(t, "", "stat", "--data-dir", dir)
	if code != 0 || !strings.Contains(errs, "WARNING") {
		t.Fatalf("stat: exit %d, stderr %q, want a warning", code, errs)
	}
	code, out, errs := sluice(t, "", "fsck", "--repair", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "9 good records kept") || !strings.Contains(out, "dropped record 6 ") {
		t.Fatalf("fsck --repair: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := sluice(t, "", "fsck", "--data-dir", filepath.Dir(path)); code != 0 {
		t.Fatalf("fsck after repair: exit %d, %s", code, errs)
	}
}

// TestFsckFlippedTotals: one bit flipped in the shared ham total (ham
// 4,294,967,296 more, as in the finding) fails fsck and makes stat warn.
func TestFsckFlippedTotals(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := sluice(t, sample(t), "learn", "--data-dir", dir, "ham"); code != 0 {
		t.Fatalf("learn: exit %d: %s", code, errs)
	}
	path := filepath.Join(dir, "bayes.statfile")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[312+4] ^= 1 // bit 32 of the shared ham total
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := sluice(t, "", "fsck", "--data-dir", dir)
	if code != exitCorrupt || !strings.Contains(errs, "checksum") || !strings.Contains(errs, "learn cache") {
		t.Fatalf("fsck: exit %d, stderr %q", code, errs)
	}
	code, out, errs := sluice(t, "", "stat", "--data-dir", dir)
	if code != 0 || !strings.Contains(errs, "WARNING") || !strings.Contains(out, "ham 4294967297") {
		t.Fatalf("stat: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
