package feed

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Version is the record format version, the "v" field.
const Version = 1

// MaxRecordSize bounds an encoded record (one datagram): 16 KiB for the
// verdict plus room for MaxTokens token hashes.
const MaxRecordSize = 128 << 10

// MaxTokens bounds the token hashes a record carries for autolearn. A
// message with more is sent without them (and is not autolearned).
const MaxTokens = 8192

// maxString bounds the queue id, user, sender, client, front end and
// symbol names in a record.
const maxString = 256

// ErrMalformed is returned (wrapped) by Decode for input that is not a record.
var ErrMalformed = errors.New("feed: malformed record")

// Record is what the milter knows about one scanned message.
type Record struct {
	Version int       `json:"v"`
	Time    time.Time `json:"time"`
	QueueID string    `json:"queue_id,omitempty"`
	User    string    `json:"user,omitempty"`
	// Frontend names the sender: "milter", "spamd" (spamc's protocol) or
	// "rspamd" (rspamc's and the HTTP protocol). Client is the SMTP
	// client's address and Sender the envelope sender, when the front end
	// knows them (the milter from the MTA, rspamd clients from the IP and
	// From headers). The three were added compatibly, for the console's
	// history: a receiver that predates them ignores them, and one that
	// has them reads "" from an older sender.
	Frontend string `json:"frontend,omitempty"`
	Client   string `json:"client,omitempty"`
	Sender   string `json:"sender,omitempty"`
	// Profile is the settings profile the message was judged by ("" none);
	// with use_settings the learner trains that profile's network.
	Profile       string   `json:"profile,omitempty"`
	Score         float64  `json:"score"`
	Required      float64  `json:"required"`
	Action        string   `json:"action"`
	Symbols       []Symbol `json:"symbols"`
	Digest        Digest   `json:"digest"` // the content digest the learn cache keys on
	BayesProb     float64  `json:"bayes_prob"`
	Authenticated bool     `json:"authenticated,omitempty"`
	Local         bool     `json:"local,omitempty"` // client on loopback or a unix socket
	Trusted       bool     `json:"trusted,omitempty"`
	// Listed: an allow or block list decided the verdict. The record is
	// shown (the console's history, the accuracy ledger) but never
	// autolearned or trained on, and carries no tokens or inputs.
	Listed bool `json:"listed,omitempty"`
	// Tokens are the message's token hashes (deduplicated, as the scan
	// saw them), so that the learner can autolearn the message without
	// having it. Omitted beyond MaxTokens. Added in a compatible way:
	// receivers that predate it ignore the field.
	Tokens Tokens `json:"tokens,omitempty"`
	// Inputs are the neural network's input vector (every input the
	// scanner computes, zeros included), so that the learner can train the
	// network from scan records; nil without one. Out of bounds, the field
	// is left out. JSON field "input_vector": it replaced the name → value
	// object "inputs", which a receiver now ignores (such a record is no
	// training sample), as a receiver that predates "input_vector" ignores
	// it.
	Inputs *Inputs `json:"input_vector,omitempty"`
}

// MaxInputs bounds the inputs of a record (nn's limit).
const MaxInputs = 4096

// Inputs are the network's input vector in the one form it has from the
// scanner to the learner's pools: the input set's digest
// (nn.InputDigest of the names), the values in the scanner's input order,
// and the names in that order when the sender sends them (see Sender: the
// first record of a set, and every NamesEvery-th). A receiver keeps the
// names of the sets it has seen, by digest.
type Inputs struct {
	Set    Digest   `json:"set"`
	Names  []string `json:"names,omitempty"`
	Values Floats   `json:"values"`
}

// valid reports whether in is within the bounds a record carries.
func (in *Inputs) valid() error {
	if in == nil {
		return nil
	}
	if len(in.Values) == 0 || len(in.Values) > MaxInputs {
		return fmt.Errorf("%d inputs, want 1 to %d", len(in.Values), MaxInputs)
	}
	if in.Names != nil && len(in.Names) != len(in.Values) {
		return fmt.Errorf("%d input names for %d values", len(in.Names), len(in.Values))
	}
	for _, name := range in.Names {
		if name == "" || len(name) > 255 {
			return fmt.Errorf("input name of %d bytes", len(name))
		}
	}
	for i, v := range in.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("input %d is not finite", i)
		}
	}
	return nil
}

// Floats are float32 values, written as base64 of their little-endian
// bytes (about 5.3 bytes per value).
type Floats []float32

// MarshalText writes the values as standard base64.
func (f Floats) MarshalText() ([]byte, error) {
	raw := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(out, raw)
	return out, nil
}

// UnmarshalText reads base64 of a multiple of 4 bytes, at most MaxInputs
// values.
func (f *Floats) UnmarshalText(b []byte) error {
	if base64.StdEncoding.DecodedLen(len(b)) > 4*MaxInputs+4 {
		return fmt.Errorf("more than %d values", MaxInputs)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(raw, b)
	if err != nil {
		return fmt.Errorf("values: %w", err)
	}
	if n%4 != 0 || n/4 > MaxInputs {
		return fmt.Errorf("values: %d bytes is not at most %d float32s", n, MaxInputs)
	}
	out := make(Floats, n/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	*f = out
	return nil
}

// Tokens are token hashes, written as base64 of their little-endian bytes
// (11 bytes per hash instead of up to 21 as JSON numbers).
type Tokens []uint64

// MarshalText writes the hashes as standard base64.
func (t Tokens) MarshalText() ([]byte, error) {
	raw := make([]byte, 8*len(t))
	for i, h := range t {
		binary.LittleEndian.PutUint64(raw[8*i:], h)
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(out, raw)
	return out, nil
}

// UnmarshalText reads base64 of a multiple of 8 bytes, at most MaxTokens
// hashes.
func (t *Tokens) UnmarshalText(b []byte) error {
	if base64.StdEncoding.DecodedLen(len(b)) > 8*MaxTokens+8 {
		return fmt.Errorf("more than %d tokens", MaxTokens)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(raw, b)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if n%8 != 0 || n/8 > MaxTokens {
		return fmt.Errorf("tokens: %d bytes is not at most %d hashes", n, MaxTokens)
	}
	out := make(Tokens, n/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	*t = out
	return nil
}

// Symbol is one named score of the verdict.
type Symbol struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// Digest is a message's content digest, written as 64 hex digits.
type Digest [32]byte

// MarshalText writes the digest in hex.
func (d Digest) MarshalText() ([]byte, error) {
	return []byte(hex.EncodeToString(d[:])), nil
}

// UnmarshalText reads 64 hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) != 2*len(d) {
		return fmt.Errorf("digest has %d hex digits, want %d", len(b), 2*len(d))
	}
	_, err := hex.Decode(d[:], b)
	return err
}

// Encode returns r as JSON of at most MaxRecordSize bytes, with Version set.
// Long strings are cut, more than MaxTokens tokens are left out and, if it
// is still too large, the tokens, then the inputs, then symbols from the end
// are dropped. Inputs out of bounds are left out.
func Encode(r *Record) ([]byte, error) {
	c := *r
	c.Version = Version
	c.QueueID, c.User, c.Profile = cut(c.QueueID), cut(c.User), cut(c.Profile)
	c.Action = cut(c.Action)
	c.Frontend, c.Client, c.Sender = cut(c.Frontend), cut(c.Client), cut(c.Sender)
	if len(c.Tokens) > MaxTokens {
		c.Tokens = nil
	}
	if c.Inputs.valid() != nil {
		c.Inputs = nil
	}
	if len(c.Symbols) > 0 {
		syms := make([]Symbol, len(c.Symbols))
		for i, s := range c.Symbols {
			syms[i] = Symbol{Name: cut(s.Name), Score: s.Score}
		}
		c.Symbols = syms
	}
	for {
		b, err := json.Marshal(&c)
		if err != nil {
			return nil, fmt.Errorf("feed: encode record: %w", err)
		}
		if len(b) <= MaxRecordSize {
			return b, nil
		}
		if c.Tokens != nil {
			c.Tokens = nil
			continue
		}
		if c.Inputs != nil {
			c.Inputs = nil
			continue
		}
		if len(c.Symbols) == 0 {
			return nil, fmt.Errorf("feed: record of %d bytes exceeds %d", len(b), MaxRecordSize)
		}
		c.Symbols = c.Symbols[:len(c.Symbols)/2]
	}
}

func cut(s string) string {
	if len(s) > maxString {
		return s[:maxString]
	}
	return s
}

// Decode parses one record. It fails with ErrMalformed for oversized input,
// bad JSON, another version, or a missing action or time.
func Decode(b []byte) (*Record, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(b), MaxRecordSize)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case r.Version != Version:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, r.Version, Version)
	case r.Action == "":
		return nil, fmt.Errorf("%w: no action", ErrMalformed)
	case r.Time.IsZero():
		return nil, fmt.Errorf("%w: no time", ErrMalformed)
	}
	if err := r.Inputs.valid(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &r, nil
}
