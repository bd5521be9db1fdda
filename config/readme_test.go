package config

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestReadmeTOML: every ```toml block of README.md is a configuration
// that Parse accepts as it stands (the admin copies them).
func TestReadmeTOML(t *testing.T) {
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	line := 0
	var starts []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(text) == "```toml":
			cur = &strings.Builder{}
			starts = append(starts, line)
		case cur != nil && strings.TrimSpace(text) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(text + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no toml block")
	}
	for i, b := range blocks {
		if _, err := Parse("README.md", []byte(b)); err != nil {
			t.Errorf("README.md's toml block at line %d: %v\n%s", starts[i], err, b)
		}
	}
	t.Logf("%d toml blocks parsed", len(blocks))
}
