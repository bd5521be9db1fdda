package learner

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Learning changes every later verdict, so it is a privilege. Every learn
// path is one of two kinds:
//
//   - a unix socket (the learner's socket, a spamd listener on unix:/path):
//     the socket's mode and group say who may connect, and whoever can
//     connect may learn;
//   - TCP (the learner's HTTP endpoints, a spamd listener on inet:): a
//     learn must carry the password (a Password header, rspamc -P). With
//     no password configured, learning over TCP is off; the configuration
//     refuses a TCP learn listener off loopback without one.
//
// Every refused learn is logged and counted (sluice_learner_refused_total
// here, the spamd listener's learns_refused counter there).

// Password is a learn password. Match compares SHA-256 digests in
// constant time, so that neither the content nor the length of the
// password leaks through timing. The zero Password matches nothing.
type Password struct{ sum []byte }

// NewPassword returns the Password pw ("" : none, which matches nothing).
func NewPassword(pw string) Password {
	if pw == "" {
		return Password{}
	}
	s := sha256.Sum256([]byte(pw))
	return Password{sum: s[:]}
}

// Set reports whether there is a password.
func (p Password) Set() bool { return p.sum != nil }

// Match reports whether got is the password; always false when none is set.
func (p Password) Match(got string) bool {
	if p.sum == nil {
		return false
	}
	s := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(s[:], p.sum) == 1
}

// limiter bounds the learns a listener reads and serves at once: a slot is
// taken before a message is read, so that the memory of a listener's
// learns is bounded by slots × the largest message, and a learn that finds
// every slot taken fails at once (busy) instead of queueing.
type limiter chan struct{}

func newLimiter(n int) limiter { return make(limiter, n) }

// tryAcquire takes a slot if one is free.
func (l limiter) tryAcquire() bool {
	select {
	case l <- struct{}{}:
		return true
	default:
		return false
	}
}

func (l limiter) release() { <-l }
