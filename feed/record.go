package feed

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the record format version, the "v" field.
const Version = 1

// MaxRecordSize bounds an encoded record (one datagram).
const MaxRecordSize = 16 << 10

// maxString bounds the queue id, user and symbol names in a record.
const maxString = 256

// ErrMalformed is returned (wrapped) by Decode for input that is not a record.
var ErrMalformed = errors.New("feed: malformed record")

// Record is what the milter knows about one scanned message.
type Record struct {
	Version       int       `json:"v"`
	Time          time.Time `json:"time"`
	QueueID       string    `json:"queue_id,omitempty"`
	User          string    `json:"user,omitempty"`
	Score         float64   `json:"score"`
	Required      float64   `json:"required"`
	Action        string    `json:"action"`
	Symbols       []Symbol  `json:"symbols"`
	Digest        Digest    `json:"digest"` // the content digest the learn cache keys on
	BayesProb     float64   `json:"bayes_prob"`
	Authenticated bool      `json:"authenticated,omitempty"`
	Local         bool      `json:"local,omitempty"` // client on loopback or a unix socket
	Trusted       bool      `json:"trusted,omitempty"`
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
// Long strings are cut and, if it is still too large, symbols are dropped
// from the end.
func Encode(r *Record) ([]byte, error) {
	c := *r
	c.Version = Version
	c.QueueID, c.User = cut(c.QueueID), cut(c.User)
	c.Action = cut(c.Action)
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
	return &r, nil
}
