package feed

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sample() *Record {
	return &Record{
		Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), QueueID: "4AbCdE", User: "alice@example.org",
		Score: 7.25, Required: 6, Action: "add header", Symbols: []Symbol{{"BAYES_SPAM", 7.25}},
		Digest: Digest{1, 2, 3}, BayesProb: 0.999, Local: true,
		Frontend: "milter", Client: "192.0.2.7", Sender: "bob@example.net",
	}
}

func TestEncodeDecode(t *testing.T) {
	r := sample()
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	r.Version = Version
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
}

func TestEncodeBounded(t *testing.T) {
	r := sample()
	r.User = strings.Repeat("u", 10000)
	r.Sender, r.Client, r.Frontend = r.User, r.User, r.User
	for i := 0; i < 2000; i++ {
		r.Symbols = append(r.Symbols, Symbol{Name: strings.Repeat("S", 300), Score: 1})
	}
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxRecordSize {
		t.Fatalf("encoded %d bytes", len(b))
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sender) != maxString || len(got.Client) != maxString || len(got.Frontend) != maxString {
		t.Fatalf("sender %d, client %d, frontend %d bytes", len(got.Sender), len(got.Client), len(got.Frontend))
	}
	if len(got.User) != maxString || len(got.Symbols) == 0 || got.Symbols[0].Name != "BAYES_SPAM" {
		t.Fatalf("user %d bytes, %d symbols", len(got.User), len(got.Symbols))
	}
}

// TestEnvelopeFieldsCompatible: a record of a sender that predates the
// front end, client and sender fields decodes with them empty, and one
// without them set leaves them out of the JSON (so an older receiver sees
// the record it knew).
func TestEnvelopeFieldsCompatible(t *testing.T) {
	tests := []struct {
		name, in                 string
		frontend, client, sender string
	}{
		{"older sender", `{"v":1,"time":"2026-01-01T00:00:00Z","action":"reject","score":16}`, "", "", ""},
		{"newer sender", `{"v":1,"time":"2026-01-01T00:00:00Z","action":"reject","frontend":"rspamd","client":"2001:db8::7","sender":"a@b.example","later":1}`,
			"rspamd", "2001:db8::7", "a@b.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if r.Frontend != tt.frontend || r.Client != tt.client || r.Sender != tt.sender {
				t.Fatalf("got %q %q %q", r.Frontend, r.Client, r.Sender)
			}
			b, err := Encode(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{`"frontend"`, `"client"`, `"sender"`} {
				if strings.Contains(string(b), key) != (tt.frontend != "") {
					t.Fatalf("encoded %s: %s present %v", b, key, !strings.Contains(string(b), key))
				}
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{
		"", "null", "{}", "[1]", `{"v":2,"action":"reject","time":"2026-01-01T00:00:00Z"}`,
		`{"v":1,"time":"2026-01-01T00:00:00Z"}`, `{"v":1,"action":"reject"}`,
		`{"v":1,"action":"reject","time":"2026-01-01T00:00:00Z","digest":"abc"}`,
		strings.Repeat(" ", MaxRecordSize+1),
	} {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%.40q) = %v, want ErrMalformed", in, err)
		}
	}
}

func TestSendReceive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.sock")
	s, err := NewSender(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// No receiver yet: dropped at once, never blocking.
	if err := s.Send(sample()); !errors.Is(err, ErrDropped) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("send without receiver: %v", err)
	}
	rc, err := Listen(path, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(sample()); err != nil {
		t.Fatal(err)
	}
	rc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := rc.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got.QueueID != "4AbCdE" || got.Digest != (Digest{1, 2, 3}) {
		t.Fatalf("got %+v", got)
	}

	// A full receive queue drops instead of blocking.
	start := time.Now()
	for i := 0; i < 100000 && s.Dropped() < 2; i++ {
		_ = s.Send(sample())
	}
	if s.Dropped() < 2 || time.Since(start) > 5*time.Second {
		t.Fatalf("dropped %d in %v", s.Dropped(), time.Since(start))
	}

	// A restarted receiver is found again by path.
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	rc2, err := Listen(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	if err := s.Send(sample()); err != nil {
		t.Fatalf("send to restarted receiver: %v", err)
	}
	if _, err := rc2.Read(); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(t.TempDir()), 0o600); err == nil {
		t.Fatal("Listen on a directory succeeded")
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(sample())
	f.Add(b)
	f.Add([]byte(`{"v":1,"action":"x","time":"2026-01-01T00:00:00Z","symbols":[{"name":"A","score":1e308}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Decode(in)
		if err != nil {
			return
		}
		// Whatever decodes encodes again, within the bound, to an equal record.
		out, err := Encode(r)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if len(in) <= MaxRecordSize && len(out) > MaxRecordSize {
			t.Fatalf("encoded %d bytes", len(out))
		}
		if _, err := Decode(out); err != nil {
			t.Fatalf("decode of re-encoded record: %v", err)
		}
	})
}

func TestTokensRoundTrip(t *testing.T) {
	r := sample()
	r.Tokens = Tokens{1, 2, 1 << 63, 0xdeadbeefcafef00d}
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Tokens, r.Tokens) {
		t.Fatalf("tokens %v, want %v", got.Tokens, r.Tokens)
	}
	// Too many tokens: the record goes without them.
	r.Tokens = make(Tokens, MaxTokens+1)
	if b, err = Encode(r); err != nil {
		t.Fatal(err)
	}
	if got, err = Decode(b); err != nil || got.Tokens != nil {
		t.Fatalf("oversized tokens: %v, %d tokens", err, len(got.Tokens))
	}
	// The largest token list fits with room for symbols.
	r.Tokens = make(Tokens, MaxTokens)
	if b, err = Encode(r); err != nil || len(b) > MaxRecordSize {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	if got, err = Decode(b); err != nil || len(got.Tokens) != MaxTokens {
		t.Fatalf("decode max tokens: %v", err)
	}
	for _, bad := range []string{`"AAE="`, `"!!"`} {
		if _, err := Decode([]byte(`{"v":1,"time":"2026-05-01T12:00:00Z","action":"no action","tokens":` + bad + `}`)); err == nil {
			t.Errorf("tokens %s decoded", bad)
		}
	}
}

func TestInputs(t *testing.T) {
	r := sample()
	r.Inputs = &Inputs{Set: Digest{1, 2, 3}, Names: []string{"bayes:prob", "meta:size", "R_SHOUTING"}, Values: []float32{0.75, 0, 1}}
	b, err := Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Inputs, r.Inputs) {
		t.Fatalf("inputs %v, want %v", got.Inputs, r.Inputs)
	}

	// A record of a sender that predates the field decodes without inputs.
	old := sample()
	b, err = Encode(old)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "input") {
		t.Fatalf("empty inputs encoded: %s", b)
	}
	if got, err := Decode(b); err != nil || got.Inputs != nil {
		t.Fatalf("old record: %v, inputs %v", err, got.Inputs)
	}
	// A record of a sender of the former name → value form: no inputs.
	former := `{"v":1,"action":"reject","time":"2026-01-01T00:00:00Z","inputs":{"bayes:prob":0.5}}`
	if got, err := Decode([]byte(former)); err != nil || got.Inputs != nil {
		t.Fatalf("former inputs: %v, inputs %+v", err, got.Inputs)
	}

	// Out of bounds: left out by Encode, refused by Decode.
	for name, in := range map[string]*Inputs{
		"too many":       {Values: make([]float32, MaxInputs+1)},
		"none":           {Values: []float32{}},
		"names ≠ values": {Names: []string{"a"}, Values: []float32{1, 2}},
		"empty name":     {Names: []string{""}, Values: []float32{1}},
		"long name":      {Names: []string{strings.Repeat("n", 256)}, Values: []float32{1}},
		"NaN":            {Values: []float32{float32(math.NaN())}},
	} {
		big := sample()
		big.Inputs = in
		b, err = Encode(big)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Decode(b); err != nil || got.Inputs != nil {
			t.Fatalf("%s: %v, %+v decoded", name, err, got.Inputs)
		}
	}
	for _, in := range []string{
		`{"v":1,"action":"reject","time":"2026-01-01T00:00:00Z","input_vector":{"set":"` + strings.Repeat("0", 64) + `","names":[""],"values":"AAAAAA=="}}`,
		`{"v":1,"action":"reject","time":"2026-01-01T00:00:00Z","input_vector":{"set":"` + strings.Repeat("0", 64) + `","values":"AAAA"}}`,
		`{"v":1,"action":"reject","time":"2026-01-01T00:00:00Z","input_vector":{"set":"` + strings.Repeat("0", 64) + `","values":"AADAfw=="}}`,
	} {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%.60q) = %v, want ErrMalformed", in, err)
		}
	}
}

// TestNamesPolicy: the names of an input set go with its first record,
// every NamesEvery-th after, the first of a new set, and the first after
// a record with names was lost.
func TestNamesPolicy(t *testing.T) {
	var p namesPolicy
	a, b := Digest{1}, Digest{2}
	var got []int
	for i := range 2*NamesEvery + 1 {
		if p.send(a) {
			got = append(got, i)
		}
	}
	if !slices.Equal(got, []int{0, NamesEvery, 2 * NamesEvery}) {
		t.Fatalf("names sent with records %v of one set", got)
	}
	if !p.send(b) || p.send(b) || !p.send(a) {
		t.Fatal("a change of set must send the names once")
	}
	p.lost()
	if !p.send(a) || p.send(a) {
		t.Fatal("after a lost record with names, the next must carry them, once")
	}
}
