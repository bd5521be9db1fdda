package tokenizer

// Kind tells where a token came from.
type Kind uint8

const (
	Body   Kind = iota // words and word pairs of text parts
	Header             // words and pairs of the Subject and the From display name
	URL                // hosts and registered domains of links
	Meta               // structure facts (metatokens)
)

var kindNames = [...]string{"body", "header", "url", "meta"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// Token is one feature of a message.
type Token struct {
	Hash uint64
	// Dist is 0 for unigrams, URL tokens and metatokens, 1..Window-1 for an
	// OSB pair of words that far apart.
	Dist uint8
	Kind Kind
}

// Features are numeric structure facts for models that want numbers rather
// than tokens. Ratios are in [0,1].
type Features struct {
	Bytes        int64 // raw bytes read
	Parts        int   // MIME entities walked, the message included
	TextParts    int   // text/plain and other text parts tokenized
	HTMLParts    int   // text/html parts tokenized
	Attachments  int   // non-text parts, and text parts with a file name
	Messages     int   // attached message/rfc822 entities
	Depth        int   // deepest nesting seen
	HTMLOnly     bool  // HTML text but no plain text part
	URLs         int   // links seen (text and href), repeats included
	URLDomains   int   // distinct registered domains of links
	ReceivedHops int   // Received header fields
	Words        int   // words tokenized
	SampledOut   int   // words skipped by per-part sampling
	NonASCII     float32
	Caps         float32 // upper-case share of letters in body words
	SubjectCaps  float32 // upper-case share of letters in the subject
	Problems     int     // non-fatal problems seen (may exceed len(Result.Problems))
	// Facts for the rules (package rules); they add no tokens.
	IPURLs     int // links whose host is an IP literal
	ShortURLs  int // links to a known URL shortener (see shorteners)
	ExecFiles  int // attachments with an executable or script extension
	DoubleExts int // attachment names with a document extension before an executable one ("x.pdf.exe")
}

// Result is the outcome of one Tokenize call. It does not share memory with
// the Tokenizer and stays valid after later calls.
type Result struct {
	// Tokens are deduplicated: a hash emitted twice is kept once, at its
	// first position, with the smallest Dist seen.
	Tokens []Token
	// Text is parallel to Tokens when Options.Explain is set, else nil.
	Text []string
	// Digest identifies the content for the learn cache: SHA-256 over Params
	// and the hashes of the words tokenized (subject, From name, text parts,
	// in order) and of the link hosts. Metatokens and per-delivery headers
	// (Date, Received, Message-ID, ...) do not enter it.
	Digest          [32]byte
	Features        Features
	Truncated       bool
	TruncatedReason string
	// Problems are non-fatal findings (unknown charset, bad base64, broken
	// multipart, ...), deduplicated, at most 32.
	Problems   []string
	BodyTokens int // tokens of Kind Body, Header and URL
	MetaTokens int // tokens of Kind Meta
	// Header is the message's top-level header as read for tokenizing
	// (see HeaderFields), for stages that look at header fields.
	Header HeaderFields
	// Language is the body text's language as an ISO 639-1 code ("en",
	// "de", "ru", "zh", ...), or "" when the text says too little; it
	// selects the per-language statistics (see lang.go).
	Language string
}
