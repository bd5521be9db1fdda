// Package learn applies labelled messages to the statfile: it tokenizes a
// message, consults the learn cache, and journals the statfile update through
// the single writer (mmapstore.Writer).
//
// The learn cache lives in the statfile itself, in a reserved namespace: a
// key derived from the message's content digest whose counts say the class
// it was learned as in the shared (and language) statistics. So the
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
// # Users
//
// With per-user statistics (Options.UsersEnabled) a learn for a user has
// two parts, each with its own learn cache: the shared part (shared and
// language namespaces), keyed by the message alone, whoever taught it, so
// that a message learned under many user names counts once in the shared
// statistics; and the user's part (the user's namespace), keyed by the
// message and the user in a second reserved namespace. The outcome is
// AlreadyLearned only when both parts had nothing to do, Relearned when
// either changed class.
//
// User namespaces are capped (Options.MaxUserNamespaces): learning for a
// user beyond the cap first expires the least recently learned user's
// namespace, in the same journaled operation: its totals go to zero, so
// scanners fall back to the shared statistics for that user (a namespace
// below min_learns is not used). The statfile cannot tell a namespace's
// token slots from others', so they stay until the statfile's own expiry
// drops them (least useful first), and so do that user's learn cache
// entries: a user whose namespace expired starts again from zero totals.
// Its directory record goes at the statfile's next rebuild.
// Recency is kept in memory; at start (the first learn for a user) it is
// read from the statfile's namespace directory, least learned first.
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

// cacheNamespace is the reserved namespace of the learn cache of the
// shared statistics; userCacheNamespace that of the users' statistics.
const (
	cacheNamespace     = "sys:learncache"
	userCacheNamespace = "sys:learncache:users"
)

// Options configure a Learner.
type Options struct {
	Tokenizer tokenizer.Options
	// UsersEnabled: learn into the user's namespace as well as the shared one.
	UsersEnabled bool
	// LanguagesEnabled: learn into the namespace of the message's language
	// (tokenizer.Result.Language, "lang:<code>") as well, when it has one.
	LanguagesEnabled bool
	// MaxUserNamespaces caps the user namespaces (with UsersEnabled): past
	// it the least recently learned one is expired. 0: no cap.
	MaxUserNamespaces int
}

// Learner learns messages into one statfile.
type Learner struct {
	w           *mmapstore.Writer
	tok         *tokenizer.Tokenizer
	opts        Options
	cacheNS     mmapstore.Namespace
	userCacheNS mmapstore.Namespace
	users       *userRecency // nil until the first learn for a user
	expired     uint64       // user namespaces expired
}

// New returns a Learner writing through w.
func New(w *mmapstore.Writer, opts Options) *Learner {
	return &Learner{w: w, tok: tokenizer.New(opts.Tokenizer), opts: opts,
		cacheNS: mmapstore.NamespaceOf(cacheNamespace), userCacheNS: mmapstore.NamespaceOf(userCacheNamespace)}
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

// planForget appends to ops what forgetting res takes: its shared part
// and, for a user, the user's part.
func (l *Learner) planForget(ops []mmapstore.Op, res *tokenizer.Result, user string) ([]mmapstore.Op, Outcome, error) {
	if len(res.Tokens) == 0 {
		return ops, 0, fmt.Errorf("%w: no tokens", ErrNotMessage)
	}
	user = l.userOf(user)
	var hashes []uint64
	out := NotLearned
	key := cacheKey(res.Digest, "")
	before, err := l.cached(l.cacheNS, key)
	if err != nil {
		return ops, 0, err
	}
	if before != 0 {
		hashes = hashesOf(res)
		ops = l.appendShared(ops, hashes, key, before, -1, l.language(res))
		out = Forgotten
	}
	if user != "" {
		ukey := cacheKey(res.Digest, user)
		ubefore, err := l.cached(l.userCacheNS, ukey)
		if err != nil {
			return ops, 0, err
		}
		if ubefore != 0 {
			if hashes == nil {
				hashes = hashesOf(res)
			}
			ops = l.appendUser(ops, hashes, ukey, ubefore, -1, user)
			out = Forgotten
		}
	}
	return ops, out, nil
}

// userOf is the user whose statistics a learn also changes: "" without
// per-user statistics.
func (l *Learner) userOf(user string) string {
	if !l.opts.UsersEnabled {
		return ""
	}
	return user
}

// cached returns the class the learn cache ns holds for key (0 if none).
func (l *Learner) cached(ns mmapstore.Namespace, key uint64) (mmapstore.Class, error) {
	var prev [1]mmapstore.Counts
	if _, err := l.w.Lookup(ns, []uint64{key}, prev[:]); err != nil {
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
// the learn caches of the shared part and of the user's part; it returns
// AlreadyLearned with no ops when neither has anything to do.
func (l *Learner) plan(ops []mmapstore.Op, res *tokenizer.Result, label Label, user string) ([]mmapstore.Op, Outcome, error) {
	if label != Spam && label != Ham {
		return ops, 0, fmt.Errorf("learn: %v is not a class to learn", label)
	}
	class := mmapstore.Class(label)
	if len(res.Tokens) == 0 {
		return ops, 0, fmt.Errorf("%w: no tokens", ErrNotMessage)
	}
	user = l.userOf(user)
	key := cacheKey(res.Digest, "")
	before, err := l.cached(l.cacheNS, key)
	if err != nil {
		return ops, 0, err
	}
	var ukey uint64
	var ubefore mmapstore.Class
	if user != "" {
		ukey = cacheKey(res.Digest, user)
		if ubefore, err = l.cached(l.userCacheNS, ukey); err != nil {
			return ops, 0, err
		}
	}
	shared, own := before != class, user != "" && ubefore != class
	if !shared && !own {
		return ops, AlreadyLearned, nil
	}
	hashes := hashesOf(res)
	out := Learned
	if shared {
		if before != 0 {
			ops = l.appendShared(ops, hashes, key, before, -1, l.language(res))
			out = Relearned
		}
		ops = l.appendShared(ops, hashes, key, class, +1, l.language(res))
	}
	if own {
		ops = l.expireFor(ops, user)
		if ubefore != 0 {
			ops = l.appendUser(ops, hashes, ukey, ubefore, -1, user)
			out = Relearned
		}
		ops = l.appendUser(ops, hashes, ukey, class, +1, user)
	}
	return ops, out, nil
}

// language returns the message's language when per-language statistics
// are on, else "".
func (l *Learner) language(res *tokenizer.Result) string {
	if !l.opts.LanguagesEnabled {
		return ""
	}
	return res.Language
}

// appendShared adds the operations that learn (delta +1) or unlearn (-1)
// one message as class in the shared statistics: the shared namespace,
// the language's (when given), and the shared learn cache entry.
func (l *Learner) appendShared(ops []mmapstore.Op, hashes []uint64, key uint64, class mmapstore.Class, delta int, lang string) []mmapstore.Op {
	ops = append(ops, mmapstore.Op{NS: mmapstore.Shared, Class: class, Delta: delta, Hashes: hashes})
	if name := mmapstore.LanguageNamespace(lang); name != "" {
		ops = append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Class: class, Delta: delta, Hashes: hashes})
	}
	return append(ops, mmapstore.Op{NS: l.cacheNS, Name: cacheNamespace, Class: class, Delta: delta, Hashes: []uint64{key}})
}

// appendUser adds the operations that learn or unlearn one message as
// class in user's statistics, and the user's learn cache entry.
func (l *Learner) appendUser(ops []mmapstore.Op, hashes []uint64, key uint64, class mmapstore.Class, delta int, user string) []mmapstore.Op {
	name := mmapstore.UserNamespace(user)
	ops = append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Class: class, Delta: delta, Hashes: hashes})
	return append(ops, mmapstore.Op{NS: l.userCacheNS, Name: userCacheNamespace, Class: class, Delta: delta, Hashes: []uint64{key}})
}

// Class reports the class a message was learned as in the shared
// statistics (by anyone): Spam, Ham, or 0 if none.
func (l *Learner) Class(res *tokenizer.Result) (Label, error) {
	c, err := l.cached(l.cacheNS, cacheKey(res.Digest, ""))
	return Label(c), err
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
