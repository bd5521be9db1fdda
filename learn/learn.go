// Package learn applies labelled messages to the statfile: it tokenizes a
// message, consults the learn cache, and journals the statfile update through
// the single writer (mmapstore.Writer).
//
// The learn cache lives in the statfile itself, in a reserved namespace: a
// key derived from the message's content digest (and the user, with
// per-user statistics) whose counts say the class it was learned as. So the
// cache entry and the token counts change in one journaled operation: a
// crash can never leave a message counted but not remembered, or remembered
// but not counted. Learning the same class again is "already learned" and
// counts nothing; learning the other class unlearns the first (counts and
// totals down, never below zero) and learns the new one, atomically. The
// cache is bounded with the statfile: when the statfile is full its least
// useful keys are expired, and an expired cache entry only means that the
// message would be counted again.
//
// Forget unlearns a message and clears its cache entry (spamd's TELL with
// Remove: local); a message the cache does not know is NotLearned.
//
// Every learn, relearn and forget changes the shared totals and the learn
// cache namespace's totals by the same op, so the two are equal;
// CheckTotals (run by `sluice fsck`) checks it.
//
// A Learner is used by one goroutine at a time (the learner daemon
// serialises requests; `sluice learn` is one process). Its Tokenize* free
// entry points (AddTokens, LearnTokens) let callers tokenize in parallel
// with their own tokenizers and hand over only the results.
package learn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cespare/xxhash/v2"
	"github.com/sluicemail/sluice/mmapstore"
	"github.com/sluicemail/sluice/tokenizer"
)

// Outcome says what a learn did.
type Outcome uint8

const (
	Learned        Outcome = iota + 1 // counted as the class asked
	AlreadyLearned                    // the same class was learned before: nothing counted
	Relearned                         // the other class was learned before: unlearned, then learned
	Forgotten                         // Forget: the message was unlearned
	NotLearned                        // Forget: the message was not learned: nothing to do
)

func (o Outcome) String() string {
	switch o {
	case Learned:
		return "learned"
	case AlreadyLearned:
		return "already learned"
	case Relearned:
		return "relearned"
	case Forgotten:
		return "forgotten"
	case NotLearned:
		return "not learned"
	}
	return "unknown"
}

// ErrNotMessage is returned for input that is not a mail message.
var ErrNotMessage = errors.New("learn: input is not a mail message")

// cacheNamespace is the reserved namespace of the learn cache.
const cacheNamespace = "sys:learncache"

// Options configure a Learner.
type Options struct {
	Tokenizer tokenizer.Options
	// UsersEnabled: learn into the user's namespace as well as the shared one.
	UsersEnabled bool
	// LanguagesEnabled: learn into the namespace of the message's language
	// (tokenizer.Result.Language, "lang:<code>") as well, when it has one.
	LanguagesEnabled bool
}

// Learner learns messages into one statfile.
type Learner struct {
	w       *mmapstore.Writer
	tok     *tokenizer.Tokenizer
	opts    Options
	cacheNS mmapstore.Namespace
}

// New returns a Learner writing through w.
func New(w *mmapstore.Writer, opts Options) *Learner {
	return &Learner{w: w, tok: tokenizer.New(opts.Tokenizer), opts: opts, cacheNS: mmapstore.NamespaceOf(cacheNamespace)}
}

// Learn reads one message from r and learns it as label for user ("" for
// none); Forget forgets it (see Forget). It returns when the learn is
// durable.
func (l *Learner) Learn(r io.Reader, label Label, user string) (Outcome, error) {
	res, err := l.tok.Tokenize(r)
	if errors.Is(err, tokenizer.ErrNotMessage) {
		return 0, fmt.Errorf("%w: %v", ErrNotMessage, err)
	}
	if err != nil {
		return 0, fmt.Errorf("learn: %w", err)
	}
	return l.LearnTokens(res, label, user)
}

// LearnTokens learns an already tokenized message.
func (l *Learner) LearnTokens(res *tokenizer.Result, label Label, user string) (Outcome, error) {
	if label == Forget {
		return l.ForgetTokens(res, user)
	}
	ops, out, err := l.plan(nil, res, label, user)
	if err != nil || out == AlreadyLearned {
		return out, err
	}
	if _, err := l.w.Apply(ops...); err != nil {
		return 0, fmt.Errorf("learn: %w", err)
	}
	return out, nil
}

// Forget reads one message from r and unlearns it for user: counts and
// totals of the class it was learned as go down (never below zero) and its
// learn cache entry is cleared, as one journaled operation. A message that
// was never learned (or whose cache entry expired) gives NotLearned.
func (l *Learner) Forget(r io.Reader, user string) (Outcome, error) {
	res, err := l.tok.Tokenize(r)
	if errors.Is(err, tokenizer.ErrNotMessage) {
		return 0, fmt.Errorf("%w: %v", ErrNotMessage, err)
	}
	if err != nil {
		return 0, fmt.Errorf("learn: %w", err)
	}
	return l.ForgetTokens(res, user)
}

// ForgetTokens is Forget for an already tokenized message.
func (l *Learner) ForgetTokens(res *tokenizer.Result, user string) (Outcome, error) {
	ops, out, err := l.planForget(nil, res, user)
	if err != nil || out == NotLearned {
		return out, err
	}
	if _, err := l.w.Apply(ops...); err != nil {
		return 0, fmt.Errorf("learn: %w", err)
	}
	return out, nil
}

// planForget appends to ops what forgetting res takes.
func (l *Learner) planForget(ops []mmapstore.Op, res *tokenizer.Result, user string) ([]mmapstore.Op, Outcome, error) {
	if len(res.Tokens) == 0 {
		return ops, 0, fmt.Errorf("%w: no tokens", ErrNotMessage)
	}
	if !l.opts.UsersEnabled {
		user = ""
	}
	key := cacheKey(res.Digest, user)
	before, err := l.cached(key)
	if err != nil || before == 0 {
		return ops, NotLearned, err
	}
	return l.appendOps(ops, hashesOf(res), key, before, -1, user, l.language(res)), Forgotten, nil
}

// cached returns the class the learn cache holds for key (0 if none).
func (l *Learner) cached(key uint64) (mmapstore.Class, error) {
	var prev [1]mmapstore.Counts
	if _, err := l.w.Lookup(l.cacheNS, []uint64{key}, prev[:]); err != nil {
		return 0, fmt.Errorf("learn: read learn cache: %w", err)
	}
	return classOf(prev[0]), nil
}

func hashesOf(res *tokenizer.Result) []uint64 {
	hashes := make([]uint64, len(res.Tokens))
	for i, t := range res.Tokens {
		hashes[i] = t.Hash
	}
	return hashes
}

// plan appends to ops what learning res as class takes, after consulting
// the learn cache; it returns AlreadyLearned with no ops when nothing is to
// be done.
func (l *Learner) plan(ops []mmapstore.Op, res *tokenizer.Result, label Label, user string) ([]mmapstore.Op, Outcome, error) {
	if label != Spam && label != Ham {
		return ops, 0, fmt.Errorf("learn: %v is not a class to learn", label)
	}
	class := mmapstore.Class(label)
	if len(res.Tokens) == 0 {
		return ops, 0, fmt.Errorf("%w: no tokens", ErrNotMessage)
	}
	if !l.opts.UsersEnabled {
		user = ""
	}
	key := cacheKey(res.Digest, user)
	before, err := l.cached(key)
	if err != nil {
		return ops, 0, err
	}
	if before == class {
		return ops, AlreadyLearned, nil
	}
	hashes := hashesOf(res)
	out := Learned
	if before != 0 {
		ops = l.appendOps(ops, hashes, key, before, -1, user, l.language(res))
		out = Relearned
	}
	return l.appendOps(ops, hashes, key, class, +1, user, l.language(res)), out, nil
}

// language returns the message's language when per-language statistics
// are on, else "".
func (l *Learner) language(res *tokenizer.Result) string {
	if !l.opts.LanguagesEnabled {
		return ""
	}
	return res.Language
}

// appendOps adds the operations that learn (delta +1) or unlearn (-1) one
// message as class: the shared namespace, the user's and the language's
// (when given), and the cache entry.
func (l *Learner) appendOps(ops []mmapstore.Op, hashes []uint64, key uint64, class mmapstore.Class, delta int, user, lang string) []mmapstore.Op {
	ops = append(ops, mmapstore.Op{NS: mmapstore.Shared, Class: class, Delta: delta, Hashes: hashes})
	for _, name := range [2]string{mmapstore.UserNamespace(user), mmapstore.LanguageNamespace(lang)} {
		if name != "" {
			ops = append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Class: class, Delta: delta, Hashes: hashes})
		}
	}
	return append(ops, mmapstore.Op{NS: l.cacheNS, Name: cacheNamespace, Class: class, Delta: delta, Hashes: []uint64{key}})
}

// Class reports the class a message was learned as: Spam, Ham, or 0 if
// none.
func (l *Learner) Class(res *tokenizer.Result, user string) (Label, error) {
	if !l.opts.UsersEnabled {
		user = ""
	}
	var c [1]mmapstore.Counts
	if _, err := l.w.Lookup(l.cacheNS, []uint64{cacheKey(res.Digest, user)}, c[:]); err != nil {
		return 0, fmt.Errorf("learn: read learn cache: %w", err)
	}
	return Label(classOf(c[0])), nil
}

func classOf(c mmapstore.Counts) mmapstore.Class {
	switch {
	case c.Spam > c.Ham:
		return mmapstore.Spam
	case c.Ham > c.Spam:
		return mmapstore.Ham
	}
	return 0
}

// cacheKey is the learn cache key of a digest for a user.
func cacheKey(digest [32]byte, user string) uint64 {
	k := binary.LittleEndian.Uint64(digest[:8])
	if user != "" {
		k ^= xxhash.Sum64String(user)
	}
	return k
}
