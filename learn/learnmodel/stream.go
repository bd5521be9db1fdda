package learnmodel

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sluicemail/sluice/learn"
	"github.com/sluicemail/sluice/mmapstore"
)

// Entry is one delivery of a stream: an event and its stream sequence.
type Entry struct {
	Event     learn.Event
	StreamSeq uint64
}

// StreamOptions shape a RandomStream.
type StreamOptions struct {
	Params   mmapstore.Params // of the statfile; Faults make some events differ
	Events   int              // stream entries (deliveries)
	Origins  int              // hosts, "mx1".."mxN"; 0 means 3
	Messages int              // distinct messages; 0 means 40
	Users    []string         // users of learns; "" (no user) is added
	// Faults mixes in redeliveries (an earlier stream sequence again),
	// resends (an origin sequence again, at a new stream sequence), gaps
	// in an origin's sequence, and events with other tokenizer
	// parameters, each about one event in 25.
	Faults bool
}

// RandomStream returns a deterministic random stream for seed: learns of
// spam and ham, by users and by autolearn, and forgets, of a small set of
// messages (so that relearns and the learn cache's precedence are
// exercised) whose token hashes overlap (so counts add up), in several
// languages. Stream sequences increase by one, except for redeliveries.
func RandomStream(seed uint64, o StreamOptions) []Entry {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	if o.Origins <= 0 {
		o.Origins = 3
	}
	if o.Messages <= 0 {
		o.Messages = 40
	}
	users := append([]string{""}, o.Users...)
	langs := []string{"", "en", "de"}
	originSeq := make([]uint64, o.Origins)
	var out []Entry
	var stream uint64
	base := time.Unix(1_750_000_000, 0)
	for len(out) < o.Events {
		if o.Faults && len(out) > 0 && r.IntN(25) == 0 {
			out = append(out, out[r.IntN(len(out))]) // a redelivery
			continue
		}
		stream++
		oi := r.IntN(o.Origins)
		origin := fmt.Sprintf("mx%d", oi+1)
		var seq uint64
		switch {
		case o.Faults && originSeq[oi] > 0 && r.IntN(25) == 0:
			seq = 1 + r.Uint64N(originSeq[oi]) // a resend
		case o.Faults && r.IntN(25) == 0:
			originSeq[oi] += 2 + r.Uint64N(3) // a gap
			seq = originSeq[oi]
		default:
			originSeq[oi]++
			seq = originSeq[oi]
		}
		id := r.IntN(o.Messages)
		label := learn.Spam
		switch n := r.IntN(10); {
		case n < 4:
			label = learn.Ham
		case n == 9:
			label = learn.Forget
		}
		source := "dovecot"
		if r.IntN(2) == 0 {
			source = learn.SourceAutolearn
		}
		params := o.Params
		if o.Faults && r.IntN(25) == 0 {
			params.Seed++
		}
		// Time mostly moves on, sometimes back a little (clocks of a
		// stream's leaders differ): the statfile must not care.
		t := base.Add(time.Duration(stream)*time.Second - time.Duration(r.IntN(3))*time.Second)
		out = append(out, Entry{StreamSeq: stream, Event: learn.Event{
			Site: "test", Origin: origin, Seq: seq, Label: label, Source: source,
			User: users[r.IntN(len(users))], Language: langs[id%len(langs)],
			Digest: sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(id))),
			Params: params, Hashes: messageHashes(seed, id), Time: t,
		}})
	}
	return out
}

// messageHashes are message id's token hashes: 20 to 120 distinct ones
// drawn from a vocabulary of 1,000, so messages share tokens.
func messageHashes(seed uint64, id int) []uint64 {
	r := rand.New(rand.NewPCG(seed, uint64(id)))
	n := 20 + r.IntN(100)
	seen := make(map[uint64]bool, n)
	hs := make([]uint64, 0, n)
	for len(hs) < n {
		h := r.Uint64N(1000)*0x9e3779b97f4a7c15 + 1
		if !seen[h] {
			seen[h] = true
			hs = append(hs, h)
		}
	}
	return hs
}
