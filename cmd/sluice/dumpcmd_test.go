package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDumpLoad: dump | load into another data directory gives the same
// `stat --json` but for the path and the generation, and the same scan;
// a cut dump is refused (65) and changes nothing.
func TestDumpLoad(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if code, _, errs := sluice(t, "", "learn", "--data-dir", a, "spam", "testdata/sample.eml"); code != 0 {
		t.Fatalf("learn: %d %s", code, errs)
	}
	code, dump, errs := sluice(t, "", "dump", "--data-dir", a)
	if code != 0 || !strings.Contains(errs, "tokens") {
		t.Fatalf("dump: %d %s", code, errs)
	}
	if code, _, errs := sluice(t, dump[:len(dump)-40], "load", "--data-dir", b); code != exitDataErr || !strings.Contains(errs, "truncated") {
		t.Fatalf("load of a cut dump: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(b, "bayes.statfile")); err == nil {
		t.Fatal("a refused load left a statfile")
	}
	if code, _, errs := sluice(t, dump, "load", "--data-dir", b); code != 0 {
		t.Fatalf("load: %d %s", code, errs)
	}
	norm := regexp.MustCompile(`"(generation|path)":[^,]*,`)
	var stats [2]string
	for i, dir := range []string{a, b} {
		code, out, errs := sluice(t, "", "stat", "--json", "--data-dir", dir)
		if code != 0 {
			t.Fatalf("stat: %d %s", code, errs)
		}
		stats[i] = norm.ReplaceAllString(out, "")
	}
	if stats[0] != stats[1] {
		t.Fatalf("stat differs:\n%s\n%s", stats[0], stats[1])
	}
	var scans [2]string
	for i, dir := range []string{a, b} {
		_, scans[i], _ = sluice(t, "", "scan", "--json", "--data-dir", dir, "testdata/sample.eml")
	}
	if scans[0] != scans[1] || scans[0] == "" {
		t.Fatalf("scan differs:\n%s\n%s", scans[0], scans[1])
	}
	code, text, _ := sluice(t, "", "dump", "--format", "text", "--data-dir", b)
	if code != 0 || !strings.Contains(text, "namespace\t") || strings.Count(text, "\n") < 100 {
		t.Fatalf("text dump: %d %q", code, text[:min(len(text), 300)])
	}
}
