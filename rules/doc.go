// Package rules holds Sluice's built-in rules: small checks of a message's
// header and structure, each giving a named, weighted symbol that the scan
// pipeline adds to the Bayes symbol and the neural network learns from.
//
// A rule looks at a Message: the top-level header as the tokenizer parsed
// it (tokenizer.Result.Header: one parse per scan, so the rules see the
// fields the tokens came from; tokenizer.ParseHeader gives the same parse
// of bare header bytes), the tokenizer's numeric Features and its list of
// problems.
// It returns a strength in (0, 1]; its score is its weight times the
// strength. Weights are configuration ([rules] weights in the config
// file); a weight of 0 turns a rule off. Builtin lists the rules with
// their documented defaults.
//
// Decisions:
//
//   - The rules are opt-in ([rules] enabled = true). Measured on the public
//     corpus's test half, adding them with these hand-set weights to Bayes
//     made the ranking worse ((1-AUC)% 0.0206 -> 0.0717, FN rate at FP <=
//     0.1% 4.2% -> 12.5%): Bayes's fine ordering of the messages it is
//     unsure about is lost under a few rule points, and on 2002 mail rules
//     such as DATE_IN_PAST or MIME_HTML_ONLY fire on ham nearly as often as
//     on spam. Their intended use is as inputs to the neural network,
//     which learns how much each is worth.
//   - Defaults are modest (0.5 to 4): a confident BAYES_SPAM (8) alone
//     marks a message (add_header 6); rules move borderline verdicts and,
//     with Bayes, can reach reject (15), which therefore needs more than
//     one kind of evidence. Authentication passes weigh against spam.
//   - Dates are compared with the time in the topmost Received field
//     (when our MTA got the message), falling back to the scan time, so
//     that rescanning old mail does not fire DATE_IN_PAST.
//   - Authentication-Results: only the topmost field whose authserv-id is
//     configured as trusted is read (RFC 8601 §5: the MTA must remove
//     fields claiming its id; anything further down may be forged).
//     TrustedAuthResults gives the same reading, with the domains each
//     result was about, to the allow lists (package lists), which need
//     the From domain aligned before a header From counts.
//   - Link texts are not exposed by the tokenizer, so there is no rule
//     for link text naming another domain than its target (yet).
//   - URL shorteners, executable and document extensions are fixed lists
//     in the tokenizer, which counts them into its Features.
package rules
