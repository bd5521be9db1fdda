package main

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/eval"
)

func TestOrderTrain(t *testing.T) {
	list := func() []eval.Message {
		return []eval.Message{
			{Path: "/c/easy-ham-1/00001.f1"}, {Path: "/c/easy-ham-1/00002.a2"},
			{Path: "/c/spam-1/00001.c3", Spam: true}, {Path: "/c/spam-2/00005.b4", Spam: true},
		}
	}
	paths := func(ms []eval.Message) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Path)
		}
		return out
	}
	for _, tc := range []struct {
		order string
		want  []string
	}{
		{"list", paths(list())},
		{"md5", []string{"/c/easy-ham-1/00002.a2", "/c/spam-2/00005.b4", "/c/spam-1/00001.c3", "/c/easy-ham-1/00001.f1"}},
	} {
		ms := list()
		if err := orderTrain(ms, tc.order); err != nil || !slices.Equal(paths(ms), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.order, paths(ms), err, tc.want)
		}
	}
	if err := orderTrain(list(), "date"); err == nil {
		t.Error("an unknown order: no error")
	}
}

// TestBudget: a step never sends more than the samples left before a
// training falls due, at least one message, at most what is left.
func TestBudget(t *testing.T) {
	d := &driver{maxTrain: 1000}
	for _, tc := range []struct {
		fresh       float64
		left, wants int
	}{
		{0, 421, 421}, {600, 421, 400}, {999, 421, 1}, {1000, 421, 1}, {1500, 421, 1}, {0, 5000, 1000},
	} {
		if got := d.budget(Learner{NewSamples: tc.fresh}, tc.left); got != tc.wants {
			t.Errorf("%v new samples, %d left: %d, want %d", tc.fresh, tc.left, got, tc.wants)
		}
	}
}

func TestTOMLValues(t *testing.T) {
	in := "data_dir = './x'\n# max_train = 5\n[actions]\n# add_header\nadd_header = 6.0\n[neural]\nmax_train = 1000\n"
	v := tomlValues(in)
	if v["neural.max_train"] != "1000" || v["actions.add_header"] != "6.0" || v[".data_dir"] != "'./x'" || len(v) != 3 {
		t.Fatalf("values %v", v)
	}
}

func TestEpochList(t *testing.T) {
	if got := epochList([]float64{6, 6, 7, 7, 8}); got != "6 → 7 → 8" {
		t.Errorf("epochList: %q", got)
	}
}

func TestFreePorts(t *testing.T) {
	var b bytes.Buffer
	if err := printFreePorts(&b, 3); err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(b.String())
	seen := map[string]bool{}
	for _, l := range lines {
		if p, err := strconv.Atoi(l); err != nil || p <= 0 || p > 65535 || seen[l] {
			t.Errorf("port %q (of %v)", l, lines)
		}
		seen[l] = true
	}
	if len(lines) != 3 {
		t.Fatalf("%d ports, want 3", len(lines))
	}
}
