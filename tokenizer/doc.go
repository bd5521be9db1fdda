// Package tokenizer turns a raw RFC 5322 (RFC 822) message into the
// features Sluice's classifiers learn from: 64-bit hashes of normalised
// words, of OSB word pairs, of link hosts and of structure facts
// (metatokens), plus a content digest for the learn cache and a few
// numeric Features.
//
//	tk := tokenizer.New(tokenizer.Options{}) // one per goroutine
//	res, err := tk.Tokenize(r)               // ErrNotMessage for non-mail
//
// A Tokenizer reuses its buffers from call to call and must not be used by
// two goroutines at once; it is cheap to create one per goroutine. A
// Result never shares memory with the Tokenizer. The package has no
// mutable global state.
//
// # Reading the message
//
// The input is read once, streaming, through a reader that enforces
// Options.MaxBytes; past a hard limit (bytes, parts, depth, time) reading
// stops and the Result says Truncated, with the reason. The top-level
// header is read by this package (tolerant, bounded lines); multipart
// bodies are split by github.com/emersion/go-message/textproto, every part
// reader it is given being bounded by the same limits. Text parts are read
// up to Options.MaxTextBytes (raw) and decoded in memory: base64 and
// quoted-printable by tolerant decoders of this package, charsets to UTF-8
// by github.com/emersion/go-message/charset (every charset it knows).
//
// Walked: multipart/* (children in order; multipart/digest children default
// to message/rfc822), message/rfc822, message/global and message/news
// (the attached message's header is read, its Subject tokenized as body
// words, its body walked), up to Options.MaxDepth and Options.MaxParts.
// Tokenized: text/html (reduced to visible text) and text/* except rtf,
// calendar, vcard, directory and csv, including text attachments, like
// rspamd. Everything else is skipped over and only gives metatokens.
//
// HTML is reduced to what a reader sees: script, style, template, iframe,
// object, svg, math, noembed, noframes and xmp contents and comments are
// dropped; entities are decoded; img alt texts are kept in place;
// block-level tags separate words while inline ones (b, span, font, a,
// unknown tags...) do not, so "fr<b>ee</b>" is the word "free". Link
// targets (a, area and link href, img src, form action) give URL tokens.
//
// # Words
//
// Text is split at UAX #29 word boundaries
// (github.com/clipperhouse/uax29/v2/words). Before that, zero-width
// characters (U+200B..U+200D, U+2060, U+FEFF) and soft hyphens are
// removed, and C0 controls (NUL...) become spaces. A segment is a word when
// it starts with a letter, mark, number, currency or other symbol (emoji);
// punctuation and spaces are not words. Then:
//
//   - Links: a word "http", "https" or "ftp" followed by "://", or a word
//     starting with "www.", starts a link, which runs to the next blank,
//     quote or angle bracket (trailing punctuation dropped). The link gives
//     the URL tokens url:<host> and url:<registered domain> (eTLD+1 by the
//     public suffix list of golang.org/x/net/publicsuffix; IP hosts and
//     unknown suffixes stay whole), and takes one place in the word stream
//     as url:<registered domain>. Userinfo and ports are dropped.
//   - E-mail addresses (a word followed by "@" and a dotted domain) are
//     one word, lower-cased, "mailto:" dropped.
//   - IPv4 addresses are kept whole.
//   - Normalisation: ASCII words are lower-cased (NFKC changes nothing in
//     ASCII, so it is skipped); other words are NFKC-normalised
//     (golang.org/x/text/unicode/norm), lower-cased and stripped of format
//     characters (Cf).
//   - Shapes: numbers (digits with "," or "." separators) become <num:N>
//     with N their digit count (capped at 16); ASCII words of 16 or more
//     bytes with 4 or more digits become <id:C>; words longer than
//     Options.MaxWordBytes (64) become <long:C>; C is the length rounded
//     up to a power of two from 16 to 1024, or "big".
//
// Pairs never cross streams: each text part, the Subject and the From
// display name is its own stream.
//
// Per-part budget: a text part gives at most Options.MaxWordsPerPart
// words. The first half are taken as they come; after that, blocks of 16
// consecutive words are kept or skipped together, with a probability that
// spreads the rest of the budget over the rest of the text, decided by the
// hash of the block's first word: no randomness, the same text always
// keeps the same words, and kept blocks still form true pairs (pairs never
// span a skipped block). Features.SampledOut counts skipped words.
// Sampling does not set Truncated.
//
// Per-message budget: at most Options.MaxWords words in all. When a part
// meets the remaining message budget, its words are taken in order until
// the budget is used up; then tokenizing stops and Truncated is set
// ("max words").
//
// # Tokens
//
// Every hash is standard XXH64 with a seed. Each namespace has its own
// seed, so that a prefix really changes the hash (unlike rspamd, whose
// xxhash mode computes the prefix seed and then ignores it):
//
//	body    Seed
//	subject XXH64("subject", Seed)
//	from    XXH64("from", Seed)      (From display name)
//	url     XXH64("url", Seed)
//	meta    XXH64("meta", Seed)
//	hdr     XXH64("hdr", Seed)       (header field words, relay)
//
// A word w in namespace ns hashes to H(w) = XXH64(bytes of w, seed(ns)).
// Each word of a stream gives:
//
//   - its unigram: Hash H(w), Dist 0;
//   - one OSB pair with each of the Window-1 words before it in the same
//     stream: Hash avalanche(H(new) + H(old)·M[d]), Dist d, where d is
//     the distance (1 = adjacent), M[d] = avalanche(d + PRIME64_5) | 1 and
//     avalanche is the XXH64 final mix. Order and distance change the hash.
//     Unlike rspamd, the pairs within the first window are emitted and the
//     last word of a short text is not dropped: "a b" gives a, b and
//     (a,b).
//
// Options.Window (1..8, default 5; 1 = unigrams only) is part of Params.
// Kinds: Body for text part words and pairs; Header for Subject and From
// name words and pairs and for header field words and relay tokens; URL for url:<host> and url:<domain> (also the
// unigram of a link in the word stream; its pairs are Body); Meta for
// metatokens.
//
// Deduplication: a Result holds each hash once, at the position it first
// appeared, with the smallest Dist seen for it. Repeating a word does not
// repeat its tokens; the classifier counts presence, not frequency.
//
// Explain texts (Options.Explain) show the namespace ("subject:free",
// "from:jane", "url:example.com", "#ct:text/html"); a pair shows both words
// with one "_" per word between them ("free money", "free _ money").
//
// # Header words and the relay
//
// Header fields are read as SpamAssassin's Bayes and spamprobe read them,
// each word prefixed by its field name, in the hdr namespace (shown as
// "H*name:word"). The fields: From, To, Cc, Reply-To, Sender, List-Id,
// List-Owner, Mailing-List (not List-Unsubscribe, List-Post, List-Help,
// List-Subscribe, List-Archive: they repeat List-Id and measured worse), X-Mailer, User-Agent, Message-ID, Content-Type,
// Organization, X-Priority, X-MSMail-Priority, Importance, X-MimeOLE,
// Errors-To, X-BeenThere, X-Mailman-Version, Precedence, MIME-Version and
// Content-Transfer-Encoding (hdrWordFields). A value is RFC 2047-decoded
// (bytes that are not UTF-8 become blanks) and split into runs of letters,
// digits, 8-bit bytes and ".-_@$%!+"; runs are lower-cased (ASCII) and
// trimmed of ".-_"; runs longer than 40 bytes and identifiers (8 bytes or
// more with 6 or more digits: dates, serials) give no token. The address
// fields (From, To, Cc, Reply-To, Sender) also give each address,
// "H*to@:ann@example.com", and its registered domain,
// "H*to@dom:example.com" (first 8 addresses of a field).
//
// The relay: of the Received fields (the first 16), the first untrusted
// hop, the client that handed the message to the receiving site, gives
// H*relay-ip:ADDR, H*relay-net:ADDR/24 (/48 for IPv6),
// H*relay-rdns:NAME (or "none" when the receiving MTA wrote no reverse
// name), H*relay-rdom:DOMAIN (its registered domain) and H*relay-helo:NAME;
// the next untrusted hop below it gives H*relay2-ip, H*relay2-net and
// H*relay2-rdom.
// Walking from the top, a hop is the site's own, and skipped, when its
// client has no address (local pickup), a loopback, private, link-local
// or unspecified one, one in Options.TrustedNetworks, or a reverse name
// equal to or below an own name: Options.TrustedHosts and the registered
// domain of the topmost Received field's "by" host (the last receiver is
// necessarily the site's own). This is SpamAssassin's trusted/untrusted
// split with an inferred default: nothing about the site's own relays
// becomes a token, only the sender's side of the boundary. A site that
// relays through public addresses of its own (a backup MX, a forwarding
// account) must list them, or its own relay is read as the sender (on the
// public corpus: the collector's dogma.slashnull.org,
// mandark.labs.netnoteinc.com and mail.webnote.net).
//
// Bounds: the first 64 header fields, 1 KiB of each value, 24 words of a
// field, 512 header word tokens per message.
//
// # Metatokens
//
// Metatokens are Kind Meta, Dist 0, hashed in the meta namespace from
// "key:value" (shown as "#key:value"). They are few and general; nothing is
// learned from per-delivery headers (X-Spam-*, Delivered-To, the site's
// own Received hops...), which would overfit a corpus to its collectors. Of
// the fields the sender writes, the values that gave tokens are those
// measured to help (4-fold cross-validation on the public corpus): the
// From address, the mailer, the Message-ID's shape, the Date's zone and
// how many domains the mail was addressed to. Reply-To and Sender domains,
// List-Id, the List-Unsubscribe kind, the recipients' domains (on a real
// site mostly the site's own: a fact of the receiving site, like
// Delivered-To), encoded-word charsets and boundary shapes did not, and
// give no token.
//
//	#msgid:ok|bad|missing       Message-ID shape <local@domain.tld>
//	#date:ok|bad|missing        Date shape (day month year hh:mm)
//	#mimever:ok|bad|missing     MIME-Version 1.0
//	#mailer:<name>|none|other   X-Mailer, else User-Agent: lower case, text
//	                            before "(", words with digits (versions)
//	                            dropped, at most 4 words
//	#hops:<n>                   number of Received fields: 0..6, "7+"
//	#h:<name>                   each header field name present, lower case,
//	                            at most 48; fields stamped at delivery
//	                            (Received, Return-Path, Delivered-To,
//	                            X-Spam-*, Authentication-Results, mail
//	                            store flags...) excluded: see perDelivery
//	#from-dom:<domain>          registered domain of the From address
//	#msgid-dom:<domain>         registered domain of the Message-ID
//	#reply-to:same|other|none   Reply-To's domain against From's
//	#rcpts:<n>                  To and Cc addresses (buckets as #parts)
//	#to:none                    no To field
//	#prec:<value>               Precedence (bulk, list, junk)
//	#from:<address>             the From address, lower case, cut at 64
//	                            bytes (none with controls or bad UTF-8)
//	#from-user:<local part>     its local part, likewise
//	#from-local:<shape>         the local part's shape: runs of letters
//	                            "a", digits "9", punctuation as itself,
//	                            other bytes "?" ("john.smith" a.a,
//	                            "jsmith72" a9), at most 24 bytes, "+" cut
//	#rcpt-doms:<n>              distinct registered domains of the To and
//	                            Cc addresses (first 64; buckets as #parts)
//	#mailer-w:<word>            each word of X-Mailer, else User-Agent:
//	                            lower case, versions kept, at most 8
//	                            words of at most 32 bytes
//	#msgid-shape:<shape>        shape of the Message-ID's left side, as
//	                            #from-local but upper case "A" apart
//	#date-tz:<zone>|none|bad    the Date's zone: +hhmm/-hhmm as written,
//	                            letters (GMT, PDT) in upper case
//	#ct:<type/subtype>          each entity's content type
//	#nest:<parent>><child>      each parent/child type pair
//	#tree:<structure>           the whole MIME tree, e.g.
//	                            mixed(alternative(plain,html),image/gif),
//	                            cut at 96 bytes with "+"
//	#cs:<charset>|none|unknown  each text part's declared charset
//	#cte:<encoding>             each text part's transfer encoding, when
//	                            not 7bit/8bit
//	#tsize:<b>                  each text part's decoded size, bit length
//	#psize:<major>:<b>          each skipped part's raw size, bit length
//	#ext:<ext>|none|bad         file name extension of attachments
//	#parts:<n>                  entities walked (0..4, 8, 16, ... "many")
//	#size:<b>                   raw message size, bit length
//	#body:plain-only|html-only|plain+html|none
//	#urls:<n>                   links seen (buckets as #parts)
//	#attachments:<n>            attachments (buckets as #parts)
//	#bad:mime|base64|charset    malformations met
//	#truncated:<reason>         a limit cut the message
//
// URL registered domains are tokens too, of Kind URL (url:<domain>) so
// that they can be weighed apart from structure; Features.URLDomains
// counts the distinct ones.
//
// # Digest
//
// Result.Digest is SHA-256 over Params and the hashes of the words pushed
// (subject, From name, text parts, in order, before deduplication) and of
// link hosts. Metatokens and header fields that change on re-delivery
// (Received, Date, Message-ID, X-*) never enter it, and transfer encodings
// and charsets are decoded first, so a message re-encoded in transit keeps
// its digest.
//
// # Determinism and Version
//
// The same bytes give the same tokens on every machine: no randomness, no
// maps iterated, no dependence on the platform's byte order. Output does
// depend on the Unicode tables of golang.org/x/text and uax29 and on the
// public suffix list compiled into golang.org/x/net: upgrading those
// modules can change tokens; the golden tests (testdata/*.golden) catch
// it, and Version must then be bumped. A change that only adds tokens
// (a new metatoken) keeps Version: every existing token keeps its hash, a
// statfile stays valid and learns the new tokens from then on, and the
// Digest (which covers Version) keeps the learn cache valid.
//
// Only Options.MaxTime makes output depend on the machine: a Result
// truncated for "max time" is not reproducible.
//
// # Limits
//
// All limits are in Options, zero meaning the default: MaxBytes 10 MiB
// read, MaxParts 256 entities, MaxDepth 10 levels, MaxWords 20000,
// MaxWordsPerPart 5000, MaxTime 1s, MaxTextBytes 2 MiB per text part,
// MaxLineBytes 64 KiB per header field, MaxWordBytes 64. Besides: 256
// link hosts give URL tokens, 32 problems are listed, 64 KiB of an
// unsplittable multipart are read as text. Memory per Tokenizer is bounded
// by these; buffers grown by a huge message are released at the next one.
//
// Result.TruncatedReason names the limit that cut the output: "max bytes",
// "max parts", "max depth" and "max time" stop all reading; "max words"
// stops tokenizing (structure is still walked); "max text bytes" skips the
// rest of one text part. The tokens gathered so far are returned, with the
// metatoken #truncated:<reason>.
//
// # Tolerated malformations
//
// Hostile input is normal input. Each tolerance is marked QUIRK in the code.
//
//   - an mbox "From " line before the header;
//   - a header that ends without a blank line (the first line that is not
//     a field starts the body); stray continuation lines; NUL and 8-bit
//     bytes in header fields (decoded in the message's charset, else as
//     UTF-8 or Windows-1252);
//   - Content-Type with broken parameters (boundary, charset, name and
//     filename recovered by a lenient scan), "text" without subtype;
//   - multipart without boundary (read as text), boundary never found
//     (the first 64 KiB read as text, or as HTML when it looks like it),
//     missing final delimiter (parts read so far are kept);
//   - base64 with junk characters, missing or misplaced padding,
//     concatenated blocks; quoted-printable with bad escapes;
//     unknown transfer encodings (read as 8bit); encoded message/rfc822;
//   - unknown or lying charsets: valid UTF-8 is taken as UTF-8 whatever the
//     label says; unknown labels fall back to UTF-8, invalid UTF-8 to
//     Windows-1252 (or U+FFFD replacement when the text is mostly UTF-8);
//     a few common misspelt labels are mapped;
//   - HTML: unclosed comments, quotes and tags, unknown tags and entities.
//
// Such problems are listed in Result.Problems and some give #bad:
// metatokens; they never make Tokenize fail. Tokenize fails only when the
// reader fails (the error wraps it) or when the input has no header field
// at all (ErrNotMessage).
package tokenizer
