package eval

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/sluicemail/sluice/scan"
)

// LOOVerdicts gives each train message the verdict of a statfile that
// learned every other train message: exactly, also for a content that is
// in the list twice (the learn cache learns it once, so statistics
// without one copy still hold it) and for a message that is not a
// message (never learned, scanned as it is). The test messages get the
// whole statfile's verdicts.
func TestLOOVerdictsEqualStatfilesWithoutTheMessage(t *testing.T) {
	msgs := corpus(30)
	train := append([]Message(nil), msgs[:40]...)
	train = append(train, train[3], Message{Spam: true, Path: "garbage", Data: []byte{0}}) // message 3 twice
	test := msgs[40:]
	opts := testOptions(t)
	trainVs, testVs, names, err := LOOVerdicts(context.Background(), opts, train, test)
	if err != nil {
		t.Fatal(err)
	}
	if len(trainVs) != len(train) || len(testVs) != len(test) || len(names) == 0 {
		t.Fatalf("%d train verdicts, %d test verdicts, %d names", len(trainVs), len(testVs), len(names))
	}
	// scanWithout scans m with a statfile that learned train without
	// message skip.
	scanWithout := func(skip int, m Message) *scan.Verdict {
		t.Helper()
		var rest []Message
		for i, o := range train {
			if i != skip {
				rest = append(rest, o)
			}
		}
		vs, _, err := opts.learnThenScan(context.Background(), fmt.Sprintf("without%d.statfile", skip), rest, []Message{m})
		if err != nil {
			t.Fatal(err)
		}
		return vs[0]
	}
	tests := []struct {
		name  string
		index int
	}{
		{"spam", 0},
		{"ham", 1},
		{"a copy of a content learned twice", 3},
		{"the second copy", 40},
		{"the last message", 39},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := trainVs[tt.index], scanWithout(tt.index, train[tt.index])
			if got == nil || want == nil {
				t.Fatalf("no verdict: %v %v", got, want)
			}
			if got.Score != want.Score || got.LogOdds != want.LogOdds || got.Prob != want.Prob || got.Evidence != want.Evidence ||
				!bytes.Equal(f32bytes(got.Inputs), f32bytes(want.Inputs)) {
				t.Fatalf("leave-one-out verdict %+v\nwant (statfile without it) %+v", got, want)
			}
		})
	}
	if trainVs[len(train)-1] != nil {
		t.Fatalf("a non-message got a verdict: %+v", trainVs[len(train)-1])
	}
	if v := scanWithout(-1, test[0]); testVs[0].Score != v.Score {
		t.Fatalf("test verdict %v, want the whole statfile's %v", testVs[0].Score, v.Score)
	}
}

func f32bytes(x []float32) []byte { return []byte(fmt.Sprint(x)) }
