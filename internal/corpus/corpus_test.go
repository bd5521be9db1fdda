package corpus

import "testing"

func TestSplitMatchesREADME(t *testing.T) {
	p := Require(t)
	var n [2][2]int // [spam][test]
	err := Walk(p, func(m Message) error {
		n[b2i(m.Spam)][b2i(m.Test)]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [2][2]int{{2895, 1255}, {1319, 577}}
	if n != want {
		t.Fatalf("split = %v, want %v (ham train/test, spam train/test)", n, want)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name           string
		ok, spam, test bool
	}{
		{"spamassassin/spam-1/00001.7c53336b37003a9286aba55d2945844c", true, true, false},
		{"spamassassin/easy-ham-1/00002.4c4069e25e1ef370c078db7ee85ff9ac", true, false, true},
		{"spamassassin/LICENSE-packaging", false, false, false},
		{"spamassassin/hard-ham-1/cmds", false, false, false},
	}
	for _, tt := range tests {
		m, ok := classify(tt.name)
		if ok != tt.ok || m.Spam != tt.spam || m.Test != tt.test {
			t.Errorf("classify(%q) = %+v, %v", tt.name, m, ok)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
