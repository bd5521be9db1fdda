package learn

import (
	"errors"
	"fmt"
	"io"

	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// DefaultBatchSize is how many messages a Batch journals with one fsync.
const DefaultBatchSize = 256

// Batch learns many messages with one journal write and fsync per group:
// bulk imports run at the speed of tokenizing rather than of the disk. A
// message added to a batch is durable only after the Flush that follows it
// (Add flushes by itself every size messages); the caller reports success
// only after the last Flush.
type Batch struct {
	l       *Learner
	size    int
	ops     []mmapstore.Op
	pending map[[32]byte]pending // messages in ops, by digest
	n       int
}

// pending is a message queued in a Batch: its label, user and rank.
type pending struct {
	label Label
	user  string
	rank  rank
}

// NewBatch returns a Batch of size messages (<= 0: DefaultBatchSize).
func (l *Learner) NewBatch(size int) *Batch {
	if size <= 0 {
		size = DefaultBatchSize
	}
	return &Batch{l: l, size: size, pending: make(map[[32]byte]pending)}
}

// Add tokenizes one message and queues its learn (or, labelled Forget,
// its forgetting). The outcome is what the learn will do once flushed.
func (b *Batch) Add(r io.Reader, label Label, user string) (Outcome, error) {
	res, err := b.l.tok.Tokenize(r)
	if errors.Is(err, tokenizer.ErrNotMessage) {
		return 0, fmt.Errorf("%w: %v", ErrNotMessage, err)
	}
	if err != nil {
		return 0, fmt.Errorf("learn: %w", err)
	}
	return b.AddTokens(res, label, user)
}

// AddTokens queues the learn of an already tokenized message (tokenized
// with the same tokenizer options). The learner daemon tokenizes in its
// connection goroutines and commits many messages with one AddTokens each
// and one Flush.
func (b *Batch) AddTokens(res *tokenizer.Result, label Label, user string) (Outcome, error) {
	return b.AddTokensFrom(res, label, user, "")
}

// AddTokensFrom is AddTokens for a learn asked for by source (see
// Learner.LearnTokensFrom).
func (b *Batch) AddTokensFrom(res *tokenizer.Result, label Label, user, source string) (Outcome, error) {
	if label == Forget {
		return b.ForgetTokens(res, user)
	}
	u := b.l.userOf(user)
	r := rankOf(source)
	if p, ok := b.pending[res.Digest]; ok {
		if p.label == label && p.user == u && p.rank >= r {
			return AlreadyLearned, nil
		}
		// The same message again, as the other class or for another
		// user: the caches must see the first learn before the next is
		// planned.
		if err := b.Flush(); err != nil {
			return 0, err
		}
	}
	n := len(b.ops)
	ops, out, err := b.l.plan(b.ops, messageOf(res), label, user, r, b.l.now())
	if err != nil || len(ops) == n {
		return out, err
	}
	b.ops = ops
	b.pending[res.Digest] = pending{label, u, r}
	if b.n++; b.n >= b.size {
		if err := b.Flush(); err != nil {
			return 0, err
		}
	}
	return out, nil
}

// ForgetTokens queues the forgetting of an already tokenized message (see
// Learner.Forget).
func (b *Batch) ForgetTokens(res *tokenizer.Result, user string) (Outcome, error) {
	if _, ok := b.pending[res.Digest]; ok {
		// The cache must see the queued learn first.
		if err := b.Flush(); err != nil {
			return 0, err
		}
	}
	ops, out, err := b.l.planForget(b.ops, messageOf(res), user)
	if err != nil || out == NotLearned {
		return out, err
	}
	b.ops = ops
	b.pending[res.Digest] = pending{}
	b.n++
	return out, nil
}

// Len is the number of messages queued since the last Flush.
func (b *Batch) Len() int { return b.n }

// Flush journals and applies the queued learns; they are durable when it
// returns nil.
func (b *Batch) Flush() error {
	if len(b.ops) == 0 {
		return nil
	}
	if err := b.l.apply(b.ops); err != nil {
		return err
	}
	b.ops = b.ops[:0]
	clear(b.pending)
	b.n = 0
	return nil
}
