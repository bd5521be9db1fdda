package cluster

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/sluicemail/sluice/internal/corpus"
	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

func sampleEvent(seq uint64, hashes ...uint64) learn.Event {
	return learn.Event{
		Site: "example", Origin: "mx1", Seq: seq, Label: learn.Spam,
		Source: "dovecot", User: "alice@example.org", Digest: [32]byte{1, 2, 3},
		Language: "en", Params: mmapstore.Params{Hash: "xxh64", Seed: 0xfeed, Window: 3, Version: 7},
		Hashes: hashes,
	}
}

func TestWireRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		ev   learn.Event
	}{
		{"typical", sampleEvent(42, 3, 1<<63, 17, 0xffffffffffffffff)},
		{"no hashes", sampleEvent(1)},
		{"hash zero", sampleEvent(1, 0, 1)},
		{"forget, no user", func() learn.Event {
			ev := sampleEvent(1<<40, 9)
			ev.Label, ev.User, ev.Language = learn.Forget, "", ""
			return ev
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(nil, &tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.ev
			want.Hashes = slices.Sorted(slices.Values(want.Hashes))
			if len(want.Hashes) == 0 {
				want.Hashes = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestWireRefuses(t *testing.T) {
	good, err := Encode(nil, ptr(sampleEvent(5, 10, 20, 30)))
	if err != nil {
		t.Fatal(err)
	}
	ascending := func(b []byte) []byte { // last delta (10 -> 30: 10) made 0
		c := slices.Clone(b)
		c[len(c)-1] = 0
		return c
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"other version", append([]byte{2}, good[1:]...)},
		{"trailing byte", append(slices.Clone(good), 0)},
		{"cut short", good[:len(good)-1]},
		{"repeated hash", ascending(good)},
		{"huge site", []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"hash count over the bytes left", func() []byte {
			b := slices.Clone(good[:len(good)-4]) // drop count and 3 deltas
			return append(b, 0xff, 0xff, 0x3f)
		}()},
	}
	for _, tt := range tests {
		if _, err := Decode(tt.in); !errors.Is(err, ErrWire) {
			t.Errorf("%s: err = %v, want ErrWire", tt.name, err)
		}
	}
	for _, ev := range []learn.Event{
		func() learn.Event { e := sampleEvent(0); return e }(),
		func() learn.Event { e := sampleEvent(1); e.Label = 9; return e }(),
		func() learn.Event { e := sampleEvent(1); e.Site = ""; return e }(),
		sampleEvent(1, 4, 4),
	} {
		if _, err := Encode(nil, &ev); err == nil {
			t.Errorf("Encode(%+v) succeeded", ev)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func FuzzDecode(f *testing.F) {
	for _, ev := range []learn.Event{sampleEvent(1), sampleEvent(7, 1, 2, 1<<62)} {
		b, _ := Encode(nil, &ev)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes: the format has
		// one form per event.
		b, err := Encode(nil, &ev)
		if err != nil {
			t.Fatalf("decoded event does not encode: %v", err)
		}
		if !bytes.Equal(b, data) {
			t.Fatalf("re-encoded %x, decoded from %x", b, data)
		}
	})
}

// TestWireSizeCorpus reports the bytes per event of the public corpus's
// train split, tokenized with the default options.
func TestWireSizeCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("tokenizes the corpus")
	}
	all, err := corpus.Load(corpus.Require(t))
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenizer.New(tokenizer.Options{})
	p := tok.Params()
	var n, bytesTotal, hashesTotal int
	var buf []byte
	for i, m := range all {
		if m.Test {
			continue
		}
		res, err := tok.Tokenize(bytes.NewReader(m.Bytes))
		if err != nil || len(res.Tokens) == 0 {
			continue
		}
		ev := learn.Event{Site: "example", Origin: "mx1", Seq: uint64(i + 1), Label: learn.Ham, Source: "dovecot",
			Digest: res.Digest, Language: res.Language,
			Params: mmapstore.Params{Hash: p.Hash, Seed: p.Seed, Window: p.Window, Version: p.Version}}
		for _, tk := range res.Tokens {
			ev.Hashes = append(ev.Hashes, tk.Hash)
		}
		if buf, err = Encode(buf[:0], &ev); err != nil {
			t.Fatal(err)
		}
		n, bytesTotal, hashesTotal = n+1, bytesTotal+len(buf), hashesTotal+len(ev.Hashes)
	}
	if n == 0 {
		t.Fatal("no train messages")
	}
	t.Logf("train split: %d events, %.0f bytes per event, %.0f hashes per event, %.2f bytes per hash",
		n, float64(bytesTotal)/float64(n), float64(hashesTotal)/float64(n), float64(bytesTotal)/float64(hashesTotal))
}

func TestWireRandomRoundTrip(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for range 200 {
		set := make(map[uint64]bool)
		for range r.IntN(2000) {
			set[r.Uint64()>>r.UintN(64)] = true
		}
		ev := sampleEvent(r.Uint64()|1, slices.Collect(func(yield func(uint64) bool) {
			for h := range set {
				if !yield(h) {
					return
				}
			}
		})...)
		b, err := Encode(nil, &ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Hashes, slices.Sorted(slices.Values(ev.Hashes))) && len(ev.Hashes) > 0 {
			t.Fatalf("hashes differ after a round trip")
		}
	}
}
