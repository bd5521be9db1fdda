// Package spamd lets existing clients talk to Sluice unchanged: it serves
// SpamAssassin's spamd protocol (spamc, Exim's spam condition), rspamd's
// legacy protocol (Exim's variant=rspamd) and the part of rspamd's HTTP API
// that rspamc, Haraka and OpenSMTPD's filter use, all on one listener. The
// first line of a connection says which: "VERB SPAMC/1.x", "VERB RSPAMC/1.x"
// or "METHOD /path HTTP/1.x".
//
// Files: request.go (framing of spamd and legacy rspamd requests, limits),
// spamd.go (PING, CHECK, SYMBOLS, REPORT, REPORT_IFSPAM, HEADERS, PROCESS,
// TELL), rspamc.go (CHECK RSPAMC/1.3), http.go (/checkv2, /ping, /learnspam,
// /learnham), report.go (report text; the X-Spam-* fields come from package
// spamheader, as the milter's do), server.go (connections, deadlines,
// panics, shutdown, the one log line per scanned message), metrics.go
// (the Prometheus counters and scan histogram, Server.Register), learner.go (the Learner that TELL and
// /learn* go through: the learner's Door), record.go (the scan record of
// each verdict, sent to the learner's feed as the milter's are). Listening on unix:/path and
// inet:host:port is package socket's.
//
// Decisions:
//
//   - One request per connection, then the server closes (after a
//     half-close, so that Exim, which reads to EOF, returns at once). spamd
//     does the same; HTTP replies say Connection: close.
//   - Scores: a message is spam (Spam: True, X-Spam-Flag: YES, spamc -c,
//     Exim's plain spam condition) when its action is add
//     header or stronger (scan.Action.IsSpam), as on the milter; spamd's
//     required score is the add-header threshold;
//     the rspamd protocols, like rspamd, give the reject threshold as the
//     required score and the action by name. The Exim ACLs in contrib/exim
//     follow from that.
//   - Header fields: PROCESS and HEADERS delete the message's fields of the
//     names package spamheader writes with Options.Headers (a sender could
//     forge them) and append spamheader's fields, folded with the
//     message's own line end, the milter's byte for byte. Other X-Spam-*
//     fields (another filter's X-Spam-Report when ours is off, say) are
//     left alone.
//   - Versions: SPAMC/1.0 to 1.x are read alike; from 1.3 on replies carry
//     Content-length before Spam: (as spamd does), and a 1.2 client, which
//     Exim is, gets exactly the lines Exim's parser expects.
//   - Limits: a request's line and header fields must arrive within
//     Options.HeaderTimeout (10s) of the connection's start, the whole
//     request (reading, scanning, replying) within Options.Timeout;
//     connections are capped in total (MaxConns) and per client IP
//     (MaxConnsPerClient, loopback exempt), the one over a cap closed at
//     once, never queued behind idle ones (package lifecycle); request lines and header lines are bounded
//     (MaxLineLength), and so are their number (MaxHeaders) and total size
//     (1 MiB). A message over MaxSize is read to its end but only its first
//     MaxSize bytes are scanned, and the report says so; PROCESS and
//     HEADERS, whose replies would have to carry the whole message, answer
//     EX_DATAERR instead (spamc then passes the message on unchanged).
//     /checkv2 answers 413.
//   - Errors: a malformed request gets the protocol's error reply: spamd's
//     "SPAMD/1.0 <sysexits code> <name> <text>" (76 EX_PROTOCOL for bad
//     requests, 65 for input that is not a message, 75 when the statistics
//     are busy, 79 on timeout), the same shape under RSPAMD/1.3, or an HTTP
//     status with rspamd's {"error": …} body. A panic ends only its
//     connection, with a 70 EX_SOFTWARE reply, and is counted.
//   - Users: spamd's User header names whose statistics apply (with
//     per-user statistics enabled). rspamd clients name the user with
//     Deliver-To; lacking it, the only recipient of a single-recipient
//     message is used (Exim's variant=rspamd sends Rcpt lines; its User
//     header is the SMTP-authenticated sender, not a recipient).
//   - Settings profiles: an rspamd client's Settings-ID header names one
//     ("default": none; an unknown name is ignored, as rspamd does);
//     otherwise the first of spamd's User, rspamd's Deliver-To and Rcpt
//     lines that matches [profiles] picks it. The profile's thresholds
//     decide the action and are what the rspamd replies report.
//   - Learning is a privilege (package learner's auth.go): over a unix
//     socket, whoever may open it may learn (its mode and group are the
//     access control); over TCP a learn (TELL, /learnspam, /learnham)
//     must carry Options.LearnPassword in a Password header (rspamc -P),
//     and with none set learning over TCP is off. A refusal is EX_NOPERM
//     (77) or HTTP 403, logged and counted (learns_refused). spamc cannot
//     send a password: spamc -L goes through a unix socket (spamc -U; the
//     command line's spamd.learn_socket).
//   - Learning goes through the Learner interface, which the learner's
//     front door (learner.Door) implements: the learner daemon, else the
//     statfile directly. TELL's Set: local learns (DidSet: local unless
//     already learned, which spamc reports as a success too); Remove:
//     local alone forgets (DidRemove: local when it was learned); "remote"
//     is ignored.
//     /learnspam and /learnham answer 200 {"success":true}, or 208 when the
//     message was already learned as that class, as rspamd does.
//   - Compress: zlib request bodies (spamc -z) are inflated; replies are
//     never compressed.
package spamd
