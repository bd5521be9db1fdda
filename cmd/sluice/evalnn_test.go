package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalNeural(t *testing.T) {
	dir := t.TempDir()
	var train, test strings.Builder
	for i := 0; i < 60; i++ {
		for _, c := range []struct{ class, words string }{
			{"spam", "cheap pills casino winner claim your prize now free money offer"},
			{"ham", "the build broke again after the merge of the release branch on thursday"},
		} {
			name := fmt.Sprintf("%s%d.eml", c.class, i)
			m := fmt.Sprintf("From: x%d@example.org\nSubject: %s %d\n\n%s w%d\n", i, c.class, i, c.words, i)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(m), 0o600); err != nil {
				t.Fatal(err)
			}
			list := &train
			if i%4 == 0 {
				list = &test
			}
			fmt.Fprintf(list, "%s\t%s\n", c.class, name)
		}
	}
	for name, s := range map[string]string{"train.list": train.String(), "test.list": test.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := sluice(t, "", "eval", "--nn", "--nn-folds", "3", "--json",
		"--train", filepath.Join(dir, "train.list"), "--test", filepath.Join(dir, "test.list"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		With struct {
			N        int     `json:"n"`
			Accuracy float64 `json:"accuracy"`
		} `json:"with_network"`
		Samples int `json:"training_samples"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.With.N != 30 || r.With.Accuracy != 1 || r.Samples != 90 {
		t.Fatalf("eval --nn on a trivially separable set: %s", out)
	}
}
