package mbox

import (
	"errors"
	"testing"
)

func TestCheckMail(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"From: a@b\n\nbody", true},
		{"Received: from x\n\tby y\nX-Odd: 1\n\n", true},
		{"X-Mailer: x\r\nSubject: hi\r\n\r\nbody", true},
		{"root:x:0:0:root:/root:/bin/bash\n", false},
		{"key: value\nother: thing\n\nFrom: a@b\n", false}, // From in the body
		{"hello\nFrom: a@b\n", false},
		{"", false},
	} {
		if err := CheckMail([]byte(tt.in)); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrNotMail)) {
			t.Errorf("CheckMail(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
