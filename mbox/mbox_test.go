package mbox

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{"two messages", "From a@b Sat Jan  1 00:00:00 2000\nSubject: one\n\nbody\n\nFrom c@d Sat Jan  1 00:00:00 2000\nSubject: two\n\nx\n",
			[]string{"Subject: one\n\nbody\n", "Subject: two\n\nx\n"}, nil},
		{"mboxrd quoting", "From a\nSubject: q\n\n>From here\n>>From there\nFrom-less line\n",
			[]string{"Subject: q\n\nFrom here\n>From there\nFrom-less line\n"}, nil},
		{"CRLF and no final newline", "From a\r\nSubject: c\r\n\r\nbody", []string{"Subject: c\r\n\r\nbody"}, nil},
		{"empty messages skipped", "From a\nFrom b\nSubject: s\n\nb\n", []string{"Subject: s\n\nb\n"}, nil},
		{"not an mbox", "Subject: plain\n\nbody\n", nil, errors.New("mbox: input does not start with a From line")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), 0)
			var got []string
			for {
				m, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					if tt.err == nil || err.Error() != tt.err.Error() {
						t.Fatalf("err = %v, want %v", err, tt.err)
					}
					return
				}
				got = append(got, string(m))
			}
			if tt.err != nil {
				t.Fatalf("no error, want %v", tt.err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	in := "From a\nSubject: big\n\n" + strings.Repeat("x", 5000) + "\n"
	r := NewReader(strings.NewReader(in), 1000)
	if _, err := r.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("From a\nSubject: s\n\n>From x\nFrom b\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(strings.NewReader(string(data)), 1<<16)
		total := 0
		for {
			m, err := r.Next()
			if err != nil {
				break
			}
			total += len(m)
			if total > len(data) {
				t.Fatalf("messages (%d bytes) longer than the input (%d)", total, len(data))
			}
		}
	})
}

// Single must agree with the Reader whenever it accepts.
func TestSingle(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"From a@b Mon Jan  1 00:00:00 2024\nSubject: s\n\nbody\n", true},
		{"From a\nSubject: s\n\n>From quoted\n", false},
		{"From a\nSubject: 1\n\nx\n\nFrom b\nSubject: 2\n\ny\n", false},
		{"Subject: not an mbox\n\n", false},
		{"From a\n", false},
	}
	for _, tt := range tests {
		msg, ok := Single([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("Single(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		want, err := NewReader(strings.NewReader(tt.in), 0).Next()
		if err != nil || string(want) != string(msg) {
			t.Errorf("Single(%q) = %q, Reader gives %q (%v)", tt.in, msg, want, err)
		}
	}
}
