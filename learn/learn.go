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
// # Who decided: user feedback outranks autolearn
//
// A cache entry also says who gave the message its class, so that every
// host applying the same learns in the same order decides alike (see
// ApplyEvent), and so that the local path follows the same rule:
//
//   - no entry: learn;
//   - the same class: nothing to count; a user confirming a class that
//     autolearn gave takes the entry over (it becomes the user's);
//   - the other class: relearn, unless the learn is an autolearn and the
//     entry a user's (autolearn never overturns a user); a user overturns
//     autolearn, and between equals the later learn wins.
//
// The source is kept in the entry's count, compatibly with the entries
// written before it was: the count of the entry's class is 1 for a class
// a user gave (and for every entry written before sources were kept, which
// is the safe reading: autolearn does not overturn them), 2 for one
// autolearn gave. So an autolearned entry is written with the key twice
// in its op (one op: the namespace's totals still move by one), cleared
// by an unlearn of the key twice (counts stop at 0), and taken over by a
// user with an unlearn of the key once and a learn with no hashes (the
// totals move by -1 and +1). Sources are Source* names; only
// SourceAutolearn ranks below a user.
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
// When each user namespace last learned is kept in the statfile (a record
// "sys:seen:<namespace id>" per namespace, set in the learn's own
// operation; users.go), from the local clock (Options.Now) for local
// learns and from Event.Time for events, so that a restarted learner, and
// every host applying the same events, expire the same namespace. A
// statfile from before these records has none: its users count as least
// recent, fewest learns first.
//
// Every learn, relearn and forget changes the shared totals and the learn
// cache namespace's totals by the same op, so the two are equal;
// CheckTotals (run by `sluice fsck`) checks it.
//
// # Events
//
// Several hosts share what they learn as events (Event: the message's
// token hashes and digest, never the message), applied by ApplyEvent on
// every host in one total order, exactly once, with the stream cursor and
// per-origin marks in the same atomic statfile update: see apply.go.
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
	"time"

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
	AlreadyApplied                    // ApplyEvent: the event was applied before (stream or origin sequence): nothing written
	Queued                            // a cluster host's learn: durable in its outbox, applied when it comes back through the stream
)

// SourceAutolearn is the source of learns the learner decided itself from
// scan results; every other source (dovecot, cli, http, spamd, spool) is
// a person's feedback and outranks it (see the package doc).
const SourceAutolearn = "autolearn"

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
	case AlreadyApplied:
		return "already applied"
	case Queued:
		return "queued"
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
	// Now is the clock of local learns (the user namespace cap keeps when
	// each user last learned); nil means time.Now. Events carry their own
	// time (Event.Time) and never read it.
	Now func() time.Time
}

// Learner learns messages into one statfile.
type Learner struct {
	w           *mmapstore.Writer
	tok         *tokenizer.Tokenizer
	opts        Options
	cacheNS     mmapstore.Namespace
	userCacheNS mmapstore.Namespace
	users       *userRecency    // nil until the first learn for a user
	expired     uint64          // user namespaces expired
	origins     map[string]bool // origins with a mark; nil until the first event
	refused     uint64          // events refused (ApplyEvent)
	gaps        uint64          // events applied after a gap in their origin's sequence
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

// LearnTokens learns an already tokenized message, as a user's feedback.
func (l *Learner) LearnTokens(res *tokenizer.Result, label Label, user string) (Outcome, error) {
	return l.LearnTokensFrom(res, label, user, "")
}

// LearnTokensFrom learns an already tokenized message asked for by
// source: with SourceAutolearn it never overturns a class a user gave
// (AlreadyLearned), see the package doc.
func (l *Learner) LearnTokensFrom(res *tokenizer.Result, label Label, user, source string) (Outcome, error) {
	if label == Forget {
		return l.ForgetTokens(res, user)
	}
	ops, out, err := l.plan(nil, messageOf(res), label, user, rankOf(source), l.now())
	if err != nil || len(ops) == 0 {
		return out, err
	}
	if err := l.apply(ops); err != nil {
		return 0, err
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
	ops, out, err := l.planForget(nil, messageOf(res), user)
	if err != nil || out == NotLearned {
		return out, err
	}
	if err := l.apply(ops); err != nil {
		return 0, err
	}
	return out, nil
}

// planForget appends to ops what forgetting m takes: its shared part
// and, for a user, the user's part.
func (l *Learner) planForget(ops []mmapstore.Op, m message, user string) ([]mmapstore.Op, Outcome, error) {
	if len(m.hashes) == 0 {
		return ops, 0, fmt.Errorf("%w: no tokens", ErrNotMessage)
	}
	user = l.userOf(user)
	out := NotLearned
	key := cacheKey(m.digest, "")
	before, err := l.cached(l.cacheNS, key)
	if err != nil {
		return ops, 0, err
	}
	if before.class != 0 {
		ops = l.appendShared(ops, m.hashes, key, before.class, -1, l.language(m), 0)
		out = Forgotten
	}
	if user != "" {
		ukey := cacheKey(m.digest, user)
		ubefore, err := l.cached(l.userCacheNS, ukey)
		if err != nil {
			return ops, 0, err
		}
		if ubefore.class != 0 {
			ops = l.appendUser(ops, m.hashes, ukey, ubefore.class, -1, user, 0)
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

// rank orders who gave a message its class (see the package doc).
type rank uint8

const (
	rankAutolearn rank = 1
	rankUser      rank = 2
)

func rankOf(source string) rank {
	if source == SourceAutolearn {
		return rankAutolearn
	}
	return rankUser
}

// cacheEntry is a decoded learn cache entry: the class (0: none) and who
// gave it.
type cacheEntry struct {
	class mmapstore.Class
	rank  rank
}

// entryOf decodes a cache slot: the class is the larger count; that count
// is 1 for a user's entry (and every entry older than sources), 2 or more
// for autolearn's.
func entryOf(c mmapstore.Counts) cacheEntry {
	class := classOf(c)
	if class == 0 {
		return cacheEntry{}
	}
	if max(c.Spam, c.Ham) >= 2 {
		return cacheEntry{class, rankAutolearn}
	}
	return cacheEntry{class, rankUser}
}

// cacheHashes are the hashes of a cache op: the key once for a user's
// learn, twice for autolearn's; an unlearn (r 0) takes the key twice,
// which clears either (counts stop at 0).
func cacheHashes(key uint64, r rank) []uint64 {
	if r == rankUser {
		return []uint64{key}
	}
	return []uint64{key, key}
}

// action is what one part of a learn (shared or user's) does.
type action uint8

const (
	keep     action = iota // nothing to count
	learnNew               // no entry: learn
	relearn                // the other class: unlearn it, learn this one
	takeOver               // the same class: a user takes autolearn's entry
)

// decide is the learn cache's rule, the same on every host: see the
// package doc.
func decide(e cacheEntry, class mmapstore.Class, r rank) action {
	switch {
	case e.class == 0:
		return learnNew
	case e.class == class && r > e.rank:
		return takeOver
	case e.class == class || r < e.rank:
		return keep
	}
	return relearn
}

// cached returns the learn cache ns's entry for key.
func (l *Learner) cached(ns mmapstore.Namespace, key uint64) (cacheEntry, error) {
	var prev [1]mmapstore.Counts
	if _, err := l.w.Lookup(ns, []uint64{key}, prev[:]); err != nil {
		return cacheEntry{}, fmt.Errorf("learn: read learn cache: %w", err)
	}
	return entryOf(prev[0]), nil
}

// message is what a learn needs of a message: its token hashes, its
// content digest (the learn cache key) and its language. A local learn
// takes it from a tokenizer.Result, an event carries it.
type message struct {
	hashes   []uint64
	digest   [32]byte
	language string
}

func messageOf(res *tokenizer.Result) message {
	return message{hashes: hashesOf(res), digest: res.Digest, language: res.Language}
}

func hashesOf(res *tokenizer.Result) []uint64 {
	hashes := make([]uint64, len(res.Tokens))
	for i, t := range res.Tokens {
		hashes[i] = t.Hash
	}
	return hashes
}

// plan appends to ops what learning m as label for user, asked with rank
// r at time now, takes, after consulting the learn caches of the shared
// part and of the user's part (decide). It returns AlreadyLearned when
// neither part counts anything; ops may still grow then (a user taking
// over autolearn's entry), and the caller applies them.
func (l *Learner) plan(ops []mmapstore.Op, m message, label Label, user string, r rank, now time.Time) ([]mmapstore.Op, Outcome, error) {
	if label != Spam && label != Ham {
		return ops, 0, fmt.Errorf("learn: %v is not a class to learn", label)
	}
	class := mmapstore.Class(label)
	if len(m.hashes) == 0 {
		return ops, 0, fmt.Errorf("%w: no tokens", ErrNotMessage)
	}
	user = l.userOf(user)
	key := cacheKey(m.digest, "")
	before, err := l.cached(l.cacheNS, key)
	if err != nil {
		return ops, 0, err
	}
	var ukey uint64
	var ubefore cacheEntry
	own := keep
	if user != "" {
		ukey = cacheKey(m.digest, user)
		if ubefore, err = l.cached(l.userCacheNS, ukey); err != nil {
			return ops, 0, err
		}
		own = decide(ubefore, class, r)
	}
	shared := decide(before, class, r)
	out := AlreadyLearned
	for _, a := range []action{shared, own} {
		switch {
		case a == relearn:
			out = Relearned
		case a == learnNew && out != Relearned:
			out = Learned
		}
	}
	lang := l.language(m)
	switch shared {
	case relearn:
		ops = l.appendShared(ops, m.hashes, key, before.class, -1, lang, 0)
		fallthrough
	case learnNew:
		ops = l.appendShared(ops, m.hashes, key, class, +1, lang, r)
	case takeOver:
		ops = appendTakeOver(ops, l.cacheNS, cacheNamespace, key, class)
	}
	if own == relearn || own == learnNew {
		if ops, err = l.expireFor(ops, user, now); err != nil {
			return ops, 0, err
		}
	}
	switch own {
	case relearn:
		ops = l.appendUser(ops, m.hashes, ukey, ubefore.class, -1, user, 0)
		fallthrough
	case learnNew:
		ops = l.appendUser(ops, m.hashes, ukey, class, +1, user, r)
	case takeOver:
		ops = appendTakeOver(ops, l.userCacheNS, userCacheNamespace, ukey, class)
	}
	return ops, out, nil
}

// appendTakeOver makes an autolearned cache entry a user's: its count
// goes from 2 to 1, and the namespace's totals, -1 then +1, stay.
func appendTakeOver(ops []mmapstore.Op, ns mmapstore.Namespace, name string, key uint64, class mmapstore.Class) []mmapstore.Op {
	return append(ops,
		mmapstore.Op{NS: ns, Name: name, Class: class, Delta: -1, Hashes: []uint64{key}},
		mmapstore.Op{NS: ns, Name: name, Class: class, Delta: +1})
}

// language returns the message's language when per-language statistics
// are on, else "".
func (l *Learner) language(m message) string {
	if !l.opts.LanguagesEnabled {
		return ""
	}
	return m.language
}

// now is the clock of local learns.
func (l *Learner) now() time.Time {
	if l.opts.Now != nil {
		return l.opts.Now()
	}
	return time.Now()
}

// appendShared adds the operations that learn (delta +1) or unlearn (-1)
// one message as class in the shared statistics: the shared namespace,
// the language's (when given), and the shared learn cache entry, given
// by r (0 with an unlearn).
func (l *Learner) appendShared(ops []mmapstore.Op, hashes []uint64, key uint64, class mmapstore.Class, delta int, lang string, r rank) []mmapstore.Op {
	ops = append(ops, mmapstore.Op{NS: mmapstore.Shared, Class: class, Delta: delta, Hashes: hashes})
	if name := mmapstore.LanguageNamespace(lang); name != "" {
		ops = append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Class: class, Delta: delta, Hashes: hashes})
	}
	return append(ops, mmapstore.Op{NS: l.cacheNS, Name: cacheNamespace, Class: class, Delta: delta, Hashes: cacheHashes(key, r)})
}

// appendUser adds the operations that learn or unlearn one message as
// class in user's statistics, and the user's learn cache entry.
func (l *Learner) appendUser(ops []mmapstore.Op, hashes []uint64, key uint64, class mmapstore.Class, delta int, user string, r rank) []mmapstore.Op {
	name := mmapstore.UserNamespace(user)
	ops = append(ops, mmapstore.Op{NS: mmapstore.NamespaceOf(name), Name: name, Class: class, Delta: delta, Hashes: hashes})
	return append(ops, mmapstore.Op{NS: l.userCacheNS, Name: userCacheNamespace, Class: class, Delta: delta, Hashes: cacheHashes(key, r)})
}

// Class reports the class a message was learned as in the shared
// statistics (by anyone): Spam, Ham, or 0 if none.
func (l *Learner) Class(res *tokenizer.Result) (Label, error) {
	e, err := l.cached(l.cacheNS, cacheKey(res.Digest, ""))
	return Label(e.class), err
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
