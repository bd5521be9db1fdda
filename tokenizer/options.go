package tokenizer

import (
	"fmt"
	"net/netip"
	"time"
)

// Version is the version of the token output. It changes whenever the same
// input bytes could produce different tokens for what was already tokenized
// (word rules, normalisation, hashing, metatoken values, defaults that
// shape output). It is stored in statfile headers through [Params]; a
// statfile written with another Version must not be used with this
// tokenizer, and the learn-cache Digest covers it. A change that only adds
// tokens (a new metatoken key) keeps Version: existing tokens keep their
// hashes, so a statfile stays valid and learns the new ones from then on,
// rather than every site having to relearn from scratch.
const Version = 2

// Seed is the fixed XXH64 seed of every token hash.
const Seed uint64 = 0x736c756963650001 // "sluice", 1

// HashName names the hash function in [Params].
const HashName = "xxh64"

// Window limits.
const (
	DefaultWindow = 3
	MaxWindow     = 8
)

// Default limits; see [Options].
const (
	DefaultMaxBytes        = 10 << 20
	DefaultMaxParts        = 256
	DefaultMaxDepth        = 10
	DefaultMaxWords        = 20000
	DefaultMaxWordsPerPart = 5000
	DefaultMaxTime         = time.Second
	DefaultMaxTextBytes    = 2 << 20
	DefaultMaxLineBytes    = 64 << 10
	DefaultMaxWordBytes    = 64
)

// Options configure a Tokenizer. The zero value means defaults for every
// field; there is no "unlimited". Negative values are treated as zero.
type Options struct {
	// Window is the OSB window: each word is paired with the Window-1 words
	// before it. Allowed 1..8 (1 = unigrams only); 0 means DefaultWindow.
	// Changing it changes Params, so statfiles must be rebuilt.
	Window int

	// MaxBytes is the number of raw message bytes read from the reader
	// (default 10 MiB). Input past it is not read; Result.Truncated is set.
	MaxBytes int64

	// MaxParts is the number of MIME entities walked, the message itself
	// included (default 256).
	MaxParts int

	// MaxDepth is the nesting depth of multiparts and attached messages
	// (default 10).
	MaxDepth int

	// MaxWords is the number of words tokenized per message, subject and
	// From name included (default 20000). When it is used up, tokenizing
	// stops and Result.Truncated is set.
	MaxWords int

	// MaxWordsPerPart is the number of words tokenized per text part
	// (default 5000). Longer parts are sampled deterministically; see the
	// package documentation. Sampling does not set Result.Truncated.
	MaxWordsPerPart int

	// MaxTime is the wall-time budget for one message (default 1s). It is
	// checked between parts, every few hundred words and HTML tokens. A
	// message cut by time is not deterministic: Truncated says so.
	MaxTime time.Duration

	// MaxTextBytes is the number of raw (still transfer-encoded) bytes read
	// from one text part (default 2 MiB); the rest of the part is skipped
	// and Result.Truncated is set.
	MaxTextBytes int

	// MaxLineBytes is the longest header field kept, folded lines joined
	// (default 64 KiB); longer fields are cut. It applies to the headers
	// this package reads (the message and attached messages); MIME part
	// headers are read by go-message and bounded by MaxBytes.
	MaxLineBytes int

	// MaxWordBytes is the longest word kept as itself (default 64 bytes,
	// before normalisation); longer words become a length-class token.
	MaxWordBytes int

	// TrustedNetworks are the site's own relays: Received hops from these
	// clients are skipped when looking for the first untrusted hop (see
	// relayTokens). Loopback and private addresses are always trusted.
	TrustedNetworks []netip.Prefix

	// TrustedHosts are the site's own host or domain names: a hop whose
	// client's reverse name is one of them, or below one, is trusted. The
	// registered domain of the topmost Received field's "by" host is
	// always one.
	TrustedHosts []string

	// Explain keeps a readable text for every token in Result.Text. It costs
	// one string per token; leave it off on the scan path.
	Explain bool
}

// withDefaults resolves zero (and out-of-range) values.
func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Window > MaxWindow {
		o.Window = MaxWindow
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxParts <= 0 {
		o.MaxParts = DefaultMaxParts
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxWords <= 0 {
		o.MaxWords = DefaultMaxWords
	}
	if o.MaxWordsPerPart <= 0 {
		o.MaxWordsPerPart = DefaultMaxWordsPerPart
	}
	if o.MaxWordsPerPart > o.MaxWords {
		o.MaxWordsPerPart = o.MaxWords
	}
	if o.MaxTime <= 0 {
		o.MaxTime = DefaultMaxTime
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = DefaultMaxTextBytes
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxWordBytes <= 0 {
		o.MaxWordBytes = DefaultMaxWordBytes
	}
	return o
}

// Validate reports options that New would have to correct (a window outside
// 1..8). Configuration code should call it; New itself clamps.
func (o Options) Validate() error {
	if o.Window < 0 || o.Window > MaxWindow {
		return fmt.Errorf("tokenizer: window %d out of range 1..%d", o.Window, MaxWindow)
	}
	return nil
}

// Params describe everything that changes token hashes. They are stored in
// statfile headers; tokens of tokenizers with equal Params can share a
// statfile. The limits in Options are not part of Params: they choose which
// tokens a message gives, never how a word hashes.
type Params struct {
	Hash    string // "xxh64"
	Seed    uint64 // XXH64 seed of all hashes
	Window  int    // OSB window
	Version int    // Version
}

// String formats p for error messages.
func (p Params) String() string {
	return fmt.Sprintf("%s seed=%#x window=%d version=%d", p.Hash, p.Seed, p.Window, p.Version)
}
