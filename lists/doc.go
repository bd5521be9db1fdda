// Package lists is Sluice's allow and block lists: the admin's word on
// senders, recipients and clients, which outweighs what Bayes and the rules
// say about a message. Each list matches one kind of fact and, when any of
// its entries matches, gives one symbol with the list's score (e.g.
// ALLOW_SENDER -100, BLOCK_SENDER +100); the scan pipeline adds it to the
// others like a rule's, so it shows in X-Spam-Status tests=..., in the
// logs and in `sluice scan --explain`.
//
// What the entries of a list name (its Kind):
//
//   - sender: user@example.com (that address), @example.com or
//     example.com (the domain and every subdomain). Matched against the
//     envelope sender (MAIL FROM) and the header From address.
//   - recipient: the same forms, matched against every envelope
//     recipient (RCPT TO); any one matching is a hit.
//   - client: an IP address or a CIDR network (v4 or v6), matched
//     against the connecting client's address (IPv4-mapped v6 addresses
//     are compared as v4).
//
// Addresses and domains are compared in lower case (local parts too:
// mail systems that treat Bob@ and bob@ as two mailboxes are rare, and
// an admin who writes Bob@ means both). Entries come from the
// configuration and from a list file, one entry a line, # starting a
// comment; the file is reloaded when it changes (Run: inotify on its
// directory, polling where that is unavailable; Reload: at once), and a
// file that cannot be read or is larger than MaxFileBytes is refused and
// logged while the list keeps its previous entries. A line that is not an
// entry is logged and skipped: one typo does not empty a list.
//
// Forged senders: an allow list (a list with a negative score) counts a
// match of the header From address or domain only when the trusted
// Authentication-Results field (the topmost one whose authserv-id is in
// Options.TrustedAuthservIDs, read exactly as the AUTH_* rules read it:
// rules.TrustedAuthResults) shows the From domain aligned in DMARC's
// relaxed sense: dmarc=pass for that From domain, or dkim=pass with a
// header.d, or spf=pass with an smtp.mailfrom, whose organisational domain
// (public suffix + 1) is the From domain's. Without a trusted
// authserv-id configured, header From never counts for an allow list. So
// a forged From cannot borrow an allowed domain. The envelope sender,
// recipients and client address come from the MTA's SMTP session, not from
// the message, and count without alignment (a site that allows an
// envelope sender its SPF does not protect should allow the client network
// instead). Block lists (a positive score) count the header From without
// alignment: forging a blocked sender only hurts the forger.
//
// A scan record of a message that a list decided is not fed to autolearn
// or the network's training (scan.Verdict.Listed): the admin's word about
// one sender says nothing about the words of its mail.
package lists
