package learner

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicemail/sluice/learn"
)

func TestRequestRoundTrip(t *testing.T) {
	for _, r := range []*Request{
		{Label: Spam, User: "alice@example.org", Source: "dovecot", Message: []byte("From: a\r\n\r\nhi\r\n")},
		{Label: Ham, Message: []byte{}},
		{Label: Forget, User: strings.Repeat("u", MaxUser), Source: strings.Repeat("s", MaxSource), Message: bytes.Repeat([]byte("x"), 1000)},
	} {
		b, err := AppendRequest(nil, r, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRequest(b, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip: %+v, want %+v", got, r)
		}
		// Two requests back to back on one stream.
		rd := bytes.NewReader(append(b, b...))
		for i := 0; i < 2; i++ {
			if _, err := ReadRequest(rd, 1<<20); err != nil {
				t.Fatalf("request %d on a stream: %v", i, err)
			}
		}
		if _, err := ReadRequest(rd, 1<<20); err != io.EOF {
			t.Fatalf("after the last request: %v, want io.EOF", err)
		}
	}
}

func TestRequestLimits(t *testing.T) {
	good, _ := AppendRequest(nil, &Request{Label: Spam, User: "u", Source: "s", Message: []byte("message")}, 100)
	tests := []struct {
		name string
		b    []byte
		max  int64
	}{
		{"message over the limit", good, 3},
		{"bad magic", append([]byte("XXXX"), good[4:]...), 100},
		{"bad version", append(append([]byte("SLRQ"), 2), good[5:]...), 100},
		{"bad op", append(append([]byte("SLRQ\x01"), 7), good[6:]...), 100},
		{"trailing bytes", append(append([]byte{}, good...), 'x'), 100},
		{"truncated", good[:len(good)-1], 100},
		{"empty", nil, 100},
		{"user too long", []byte("SLRQ\x01\x01\xff\xff\x00\x00\x00\x00\x00"), 100},
	}
	for _, tt := range tests {
		if _, err := DecodeRequest(tt.b, tt.max); err == nil {
			t.Errorf("%s: decoded", tt.name)
		}
	}
	if _, err := AppendRequest(nil, &Request{Label: Spam, User: "a\nb"}, 100); !errors.Is(err, ErrProtocol) {
		t.Errorf("user with a newline: %v", err)
	}
	if _, err := AppendRequest(nil, &Request{Label: Spam, Message: make([]byte, 101)}, 100); !errors.Is(err, ErrProtocol) {
		t.Errorf("message over the limit: %v", err)
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, r := range []*Response{
		{Status: StatusOK, Outcome: learn.AlreadyLearned, Text: "already learned"},
		{Status: StatusNotMessage, Text: "not a message"},
		{Status: StatusTempFail, Text: strings.Repeat("x", MaxText)},
	} {
		got, err := ReadResponse(bytes.NewReader(AppendResponse(nil, r)))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, r)
		}
	}
	long := AppendResponse(nil, &Response{Status: StatusTempFail, Text: strings.Repeat("y", 5000)})
	if got, err := ReadResponse(bytes.NewReader(long)); err != nil || len(got.Text) != MaxText {
		t.Fatalf("long text: %v", err)
	}
	for _, bad := range []string{"SLRS\x01\x00\x00\x00\x00", "SLRS\x01\x09\x00\x00\x00", "SLRX\x01\x00\x01\x00\x00", "SLRS\x01\x00\x01\xff\xff"} {
		if _, err := ReadResponse(strings.NewReader(bad)); err == nil {
			t.Errorf("response %q decoded", bad)
		}
	}
}

// FuzzReadRequest: no input panics, allocates past the limits, or decodes
// to a request that does not encode back to the same bytes.
func FuzzReadRequest(f *testing.F) {
	good, _ := AppendRequest(nil, &Request{Label: Spam, User: "alice@example.org", Source: "dovecot", Message: []byte("Subject: x\r\n\r\nbody\r\n")}, 1<<16)
	f.Add(good)
	f.Add([]byte("SLRQ\x01\x03\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("SLRQ\x01\x01\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b, 1<<16)
		if err != nil {
			return
		}
		again, err := AppendRequest(nil, r, 1<<16)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v does not encode back: %v", r, err)
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	f.Add(AppendResponse(nil, &Response{Status: StatusOK, Outcome: learn.Learned, Text: "learned"}))
	f.Add([]byte("SLRS\x01\x03\x00\x00\x05hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ReadResponse(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(r.Text) > MaxText || r.Status > StatusTempFail {
			t.Fatalf("out of bounds: %+v", r)
		}
	})
}
