// Package milter is Sluice's milter server: Postfix and Sendmail call it for
// every message, it runs the scan pipeline at end of message and answers
// with header edits, a reject, a temporary failure or a quarantine.
//
// It is built on github.com/emersion/go-milter v0.5.0 and designs around
// what that library lacks (see shared/reference/mta-integration.md):
//
//   - Connection state. The library creates a new backend after every final
//     reply and keeps only the last macro packet. So each connection gets
//     its own go-milter Server (served on a one-connection listener) whose
//     factory closes over that connection's state: the client address and
//     family survive across the messages of one SMTP session, and the
//     macros we need ({auth_authen}, i, {client_addr}) are copied in every
//     callback that sees them.
//   - Timeouts. The library reads with no deadline, two system calls a
//     packet. A wrapped net.Conn reads through a buffer, follows the milter
//     framing (4-byte length, then payload) and sets an idle deadline while
//     waiting for the next command and a shorter read deadline once a
//     command has begun; writes get the read deadline too.
//   - Headers. The library keeps every header of a connection in a map
//     until an abort. The wrapped net.Conn reads header packets itself,
//     hands them to the session (which stops storing past MaxSize) and
//     gives the library an empty SMFIC_DATA, which it answers "continue"
//     as it would the header.
//   - Connections. Accepting, the cap on connections (MaxConns; one more is
//     closed at once and the MTA applies its milter_default_action),
//     retrying accept errors and shutting down are package lifecycle's.
//     Server.Shutdown stops accepting, closes connections that are between
//     messages at once, lets connections with a message in flight finish
//     it, and closes whatever is left when its context ends.
//   - Errors. A callback error or panic makes the library drop the
//     connection, which the MTA turns into its milter_default_action
//     (tempfail unless configured). Sluice's own failures therefore never
//     surface as errors: every callback recovers panics, and a scan that
//     fails gives the configured default verdict (accept: fail-open), a
//     log line and a counter. Only a broken connection ends a session.
//
// Per message the server buffers the header and body up to MaxSize bytes;
// a larger message stops being buffered and is accepted unscanned with
// "X-Spam-Status: No, skipped: ...". Mail from authenticated senders and
// trusted networks is accepted at MAIL FROM without buffering. The user
// whose statistics apply is the first recipient, or the value of a
// configured header such as Deliver-To. The settings profile (Profiles)
// is that header's user's when it has one, else that of the first
// envelope recipient that has one: one verdict per message, so a message
// to several profiles is judged by the first.
//
// Verdicts (scan.Action): every scanned message gets the X-Spam-* fields
// of package spamheader (X-Spam-Status, X-Spam-Score, X-Spam-Level,
// X-Spam-Bar, and X-Spam-Flag: YES when its action is add header or
// stronger; X-Spam-Report, X-Spamd-Result and X-Spam when Options.Headers
// asks), byte for byte what the spamd listener writes, folded with "\n"
// as libmilter wants it; any fields of those names that came from outside
// are deleted first. Rewrite subject
// changes the Subject from a template; greylist answers with the configured
// 4xx reply unless Options.Greylist (package greylist's triplet store)
// says the message is a retry after the delay, which then gets the action
// its score has without greylisting; reject answers with the configured 5xx reply, or quarantines
// (Postfix: hold queue) and accepts when Quarantine is set. Replies have
// their % doubled, as Postfix and Sendmail treat the text as a format.
//
// After each verdict a feed.Record goes to the learner without blocking.
// Each scanned message gets one log line (queue id, client IP, envelope
// sender, recipients, user, profile, score, action, symbols, size, time).
// Counters are Prometheus counters declared in metrics.go (labels
// without spaces: action="add_header") with a scan-duration histogram;
// Server.Register puts them on the command's registry, Server.Counters
// reads them back for the line logged at shutdown.
package milter
