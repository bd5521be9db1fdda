// Package config is Sluice's one configuration file: TOML, every option with a
// documented default, so that every command runs with no file at all.
//
// Load reads a file over the defaults: keys it does not name keep their
// default, unknown keys and bad values are rejected with the file name and
// line. Option names follow rspamd's where the two overlap (min_tokens,
// min_learns, spam_score, ham_score, max_train, max_epoch, use_settings,
// users_enabled, languages_enabled) so that admins can carry their settings
// over. `sluice config` prints the defaults as a commented TOML file, generated
// from the struct tags below, so that the documentation cannot drift.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Config is the whole configuration. The zero value is not useful: start from
// Default or Load.
type Config struct {
	DataDir    string     `toml:"data_dir" comment:"Directory for the statfile, its journal, the learn cache and the network file.\nCreated by the daemons on first use (sluice learn never creates it). The --data-dir flag overrides it."`
	Log        Log        `toml:"log"`
	Tokenizer  Tokenizer  `toml:"tokenizer"`
	Statfile   Statfile   `toml:"statfile"`
	Classifier Classifier `toml:"classifier"`
	Actions    Actions    `toml:"actions"`
	Rules      Rules      `toml:"rules"`
	Neural     Neural     `toml:"neural"`
	Milter     Milter     `toml:"milter"`
	Spamd      Spamd      `toml:"spamd"`
	Headers    Headers    `toml:"headers"`
	Learner    Learner    `toml:"learner"`
	Greylist   Greylist   `toml:"greylist"`
	Cluster    Cluster    `toml:"cluster"`
	// Profiles are the settings profiles by name; none by default.
	Profiles map[string]Profile `toml:"profiles,omitempty" comment:"Settings profiles, e.g. [profiles.finance] with recipients = [\"@finance.example.com\"] and reject = 10:\nthe mail of those recipients gets its own thresholds and, with [neural] use_settings, its own network."`
	// Lists are the allow and block lists by name; none by default.
	Lists map[string]List `toml:"lists,omitempty" comment:"Allow and block lists, e.g. [lists.allow_sender] with match = \"sender\", score = -20 and entries or a file."`
}

// Log configures the log/slog output of every command.
type Log struct {
	Level  string `toml:"level" comment:"debug, info, warn or error."`
	Format string `toml:"format" comment:"text or json."`
	Output string `toml:"output" comment:"stderr, or syslog (facility mail, through /dev/log; stderr with a warning when there is no syslog)."`
}

// Tokenizer configures how a message becomes tokens. Changing window changes
// every token hash: a statfile built with another window is refused.
type Tokenizer struct {
	Window          int      `toml:"window" comment:"OSB window: a word is paired with the window-1 words before it (1 to 8)."`
	MaxBytes        ByteSize `toml:"max_bytes" comment:"Bytes of a message read for tokens; the rest is not scanned (the result says truncated)."`
	MaxParts        int      `toml:"max_parts" comment:"MIME parts walked per message."`
	MaxDepth        int      `toml:"max_depth" comment:"Nesting depth of multiparts and attached messages."`
	MaxWords        int      `toml:"max_words" comment:"Words per message; past it words are sampled deterministically."`
	MaxWordsPerPart int      `toml:"max_words_per_part" comment:"Words per text part; past it words are sampled deterministically."`
	MaxTime         Duration `toml:"max_time" comment:"Time spent tokenizing one message before it stops and keeps what it has."`
	TrustedNetworks string   `toml:"trusted_networks" comment:"The site's own relays, addresses or CIDRs separated by spaces or commas: Received hops from them\nare skipped when looking for the first untrusted hop, whose IP, /24, reverse name and HELO are tokens.\nLoopback and private addresses always are."`
	TrustedHosts    string   `toml:"trusted_hosts" comment:"The site's own host or domain names, separated by spaces or commas: a hop from a client whose\nreverse name is one, or below one, is skipped too. The domain of the topmost Received field's \"by\" host always is."`
}

// Networks returns TrustedNetworks parsed; a bare address is a one-address
// prefix.
func (t Tokenizer) Networks() ([]netip.Prefix, error) {
	return Milter{TrustedNetworks: t.TrustedNetworks}.Networks()
}

// Hosts returns TrustedHosts in lower case, without trailing dots.
func (t Tokenizer) Hosts() []string {
	var hs []string
	for _, h := range strings.FieldsFunc(t.TrustedHosts, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		hs = append(hs, strings.TrimSuffix(strings.ToLower(h), "."))
	}
	return hs
}

// Statfile configures the memory-mapped token statistics.
type Statfile struct {
	Path         string   `toml:"path" comment:"Statfile path; relative paths are below data_dir."`
	InitialSlots int      `toml:"initial_slots" comment:"Slots of a new statfile (a power of two); it grows by doubling."`
	MaxSize      ByteSize `toml:"max_size" comment:"Largest statfile; past it the least useful tokens are expired, learning never fails."`
	MaxLoad      float64  `toml:"max_load" comment:"Fraction of slots in use before the table grows or expires tokens (0.5 to 0.95)."`
}

// Classifier configures the Bayes classifier.
type Classifier struct {
	MinTokens        int     `toml:"min_tokens" comment:"Bayes stays silent for messages with fewer tokens."`
	MinLearns        int     `toml:"min_learns" comment:"Bayes stays silent until each class has this many learned messages."`
	MinTokenHits     int     `toml:"min_token_hits" comment:"Tokens seen in fewer learned messages are ignored."`
	MinProbStrength  float64 `toml:"min_prob_strength" comment:"Tokens whose probability is within this of 0.5 are ignored."`
	RobinsonS        float64 `toml:"robinson_s" comment:"Strength of the prior pulling rarely seen tokens toward robinson_x (Robinson's s)."`
	RobinsonX        float64 `toml:"robinson_x" comment:"Probability assumed for a token never seen (Robinson's x)."`
	MaxTokens        int     `toml:"max_tokens" comment:"Combine only this many of the most decisive tokens (0 = all)."`
	UsersEnabled     bool    `toml:"users_enabled" comment:"Learn and classify per user (falling back to the shared statistics)."`
	LanguagesEnabled bool    `toml:"languages_enabled" comment:"Learn and classify per language (falling back to the shared statistics)."`
	SpamSymbolScore  float64 `toml:"bayes_spam_score" comment:"BAYES_SPAM scores this times ln(1 + log-odds of spam): no ceiling, no flat band, so the score keeps\nthe Bayes ranking. With 5, a verdict of P = 0.9 scores 5.8, 0.99 8.6, 0.9999 11.6."`
	HamSymbolScore   float64 `toml:"bayes_ham_score" comment:"BAYES_HAM scores this times ln(1 + log-odds of ham) (negative)."`
}

// Actions maps the total score to what the MTA is told. A threshold of 0
// turns that action off.
type Actions struct {
	AddHeader      float64 `toml:"add_header" comment:"Score from which X-Spam-Flag: YES is added. 1.2: the lowest score with FP <= 0.1% (1.139, rounded up) on the public\ncorpus's train split scored out of sample with the network (sluice eval --nn: Bayes leave-one-out, the network from\nnn.Train's shrinkage folds): FN 6.8% there; 1.1 gives FP 0.104% there."`
	RewriteSubject float64 `toml:"rewrite_subject" comment:"Score from which the subject is rewritten (0 = off)."`
	Greylist       float64 `toml:"greylist" comment:"Score from which the milter defers a message until its sender retries ([greylist]); 0 = off."`
	Reject         float64 `toml:"reject" comment:"Score from which the message is rejected. 15 is 12 times the highest score of a ham in the leave-one-out\nverdicts of the public corpus's train split (1.24, Bayes alone), reached by 71% of its spam there; Bayes log-odds 19\n(P = 1 - 5e-9)."`
}

// Headers chooses the optional header fields that the milter and the
// spamd listener (PROCESS, HEADERS) add besides SpamAssassin's X-Spam-Flag,
// X-Spam-Status, X-Spam-Score, X-Spam-Level and X-Spam-Bar (package
// spamheader). Incoming fields of the names written are deleted first.
type Headers struct {
	Report      bool `toml:"report" comment:"Add SpamAssassin's X-Spam-Report: one line per symbol with its score and detail."`
	SpamdResult bool `toml:"spamd_result" comment:"Add rspamd's X-Spamd-Result: default: False [score / reject score]; SYMBOL(score)[detail]; ..."`
	Spam        bool `toml:"x_spam" comment:"Add rspamd's X-Spam: Yes to spam (add header or a stronger action), as its x-spam routine."`
}

// Milter configures `sluice milter`, the filter Postfix and Sendmail call.
// Trusted networks are one string (like Postfix's mynetworks) so that Config
// stays comparable.
type Milter struct {
	Listen          string   `toml:"listen" comment:"Where the milter listens: unix:/path (or local:/path) or inet:host:port. The --listen flag overrides it."`
	SocketMode      string   `toml:"socket_mode" comment:"Permissions of a unix socket (octal). The MTA's user must be able to write it."`
	SocketGroup     string   `toml:"socket_group" comment:"Group of a unix socket, e.g. postfix (empty: the process's group)."`
	MaxSize         ByteSize `toml:"max_size" comment:"Largest message scanned; larger ones are delivered unscanned with X-Spam-Status: No, skipped."`
	IdleTimeout     Duration `toml:"idle_timeout" comment:"Longest wait for the MTA's next command; keep it above Postfix's smtpd_timeout (300s)."`
	ReadTimeout     Duration `toml:"read_timeout" comment:"Longest time to read the rest of a command once it started, or to write a reply."`
	ShutdownTimeout Duration `toml:"shutdown_timeout" comment:"On SIGTERM, how long messages in flight may take before their connections are closed."`
	MaxConnections  int      `toml:"max_connections" comment:"MTA connections served at once; one more is closed at once (the MTA applies its milter_default_action)."`
	DefaultAction   string   `toml:"default_action" comment:"Verdict when scanning fails (fail-open by default): accept, tempfail or reject."`
	RejectMessage   string   `toml:"reject_message" comment:"SMTP reply for rejected spam: a 5xx code, an optional 5.x.x status, a text."`
	GreylistMessage string   `toml:"greylist_message" comment:"SMTP reply for the greylist action: a 4xx code, an optional 4.x.x status, a text."`
	SubjectTemplate string   `toml:"subject_template" comment:"New subject for the rewrite_subject action; %s stands for the original subject."`
	Quarantine      bool     `toml:"quarantine" comment:"Quarantine (Postfix: hold queue) instead of rejecting messages at the reject score."`
	SkipAuth        bool     `toml:"skip_authenticated" comment:"Do not scan mail from authenticated senders (SMTP AUTH: the {auth_authen} macro)."`
	TrustedNetworks string   `toml:"trusted_networks" comment:"Client networks whose mail is not scanned: addresses or CIDRs separated by spaces or commas."`
	UserHeader      string   `toml:"user_header" comment:"Header naming the user whose statistics apply (e.g. Deliver-To); empty: the first recipient."`
	FeedSocket      string   `toml:"feed_socket" comment:"Unix datagram socket of the learner to send scan records to (empty: none). Never blocks."`
	MetricsListen   string   `toml:"metrics_listen" comment:"Where sluice milter serves Prometheus /metrics: inet:host:port (e.g. inet:127.0.0.1:7358), unix:/path, or off.\nOff by default: two milters on one host would fight over one default port. sluice serve ignores it: its /metrics is on learner.http_listen."`
}

// Default returns the embedded defaults.
func Default() Config {
	return Config{
		DataDir: "./sluice-data",
		Log:     Log{Level: "info", Format: "text", Output: "stderr"},
		Tokenizer: Tokenizer{
			Window:          3,
			MaxBytes:        10 << 20,
			MaxParts:        256,
			MaxDepth:        10,
			MaxWords:        20000,
			MaxWordsPerPart: 5000,
			MaxTime:         Duration(2 * time.Second),
		},
		Statfile: Statfile{
			Path:         "bayes.statfile",
			InitialSlots: 1 << 16,
			MaxSize:      1 << 30,
			MaxLoad:      0.8,
		},
		Classifier: Classifier{
			MinTokens:       11,
			MinLearns:       10,
			MinTokenHits:    1,
			MinProbStrength: 0.375,
			RobinsonS:       0.0178,
			RobinsonX:       0.5,
			SpamSymbolScore: 5,
			HamSymbolScore:  -5,
		},
		Actions: Actions{AddHeader: 1.2, Reject: 15},
		Rules:   defaultRules(),
		Neural:  defaultNeural(),
		Milter: Milter{
			Listen:          "inet:127.0.0.1:7357",
			SocketMode:      "0660",
			MaxSize:         10 << 20,
			IdleTimeout:     Duration(10 * time.Minute),
			ReadTimeout:     Duration(time.Minute),
			ShutdownTimeout: Duration(30 * time.Second),
			MaxConnections:  768,
			DefaultAction:   "accept",
			RejectMessage:   "550 5.7.1 Message rejected as spam",
			GreylistMessage: "451 4.7.1 Try again later",
			SubjectTemplate: "***SPAM*** %s",
			SkipAuth:        true,
			MetricsListen:   Off,
		},
		Spamd:    defaultSpamd(),
		Learner:  defaultLearner(),
		Greylist: defaultGreylist(),
		Cluster:  defaultCluster(),
	}
}

// Load returns the defaults overlaid with the TOML file at path. An empty
// path returns the defaults.
func Load(path string) (Config, error) {
	cfg := Default()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("cannot read the configuration: %w", err)
	}
	return Parse(path, data)
}

// Parse overlays the TOML document data (named name in errors) on the
// defaults. Its errors are in an admin's words, one per line, each as
// "NAME:LINE: key: what is wrong" (without LINE for a key the file does
// not set, such as a default that a changed threshold now contradicts).
func Parse(name string, data []byte) (Config, error) {
	cfg := Default()
	doc := readDocument(data)
	if errs := doc.unitless(); len(errs) > 0 {
		return cfg, doc.located(name, errs)
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, positioned(name, doc, err)
	}
	// "off" turns a listener off in the file as on the command line.
	if cfg.Learner.HTTPListen == Off {
		cfg.Learner.HTTPListen = ""
	}
	if err := cfg.validate(); err != nil {
		return cfg, doc.located(name, flatten(err))
	}
	return cfg, nil
}

// Off, as a listen address (spamd.listen, learner.http_listen, and the
// flags that set them), turns that listener off.
const Off = "off"

// positioned rewrites a go-toml error as "FILE:LINE: key: message" in an
// admin's words: no Go type names.
func positioned(name string, doc document, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		var errs []error
		for _, e := range strict.Errors {
			row, _ := e.Position()
			errs = append(errs, fmt.Errorf("%s:%d: unknown key %q", name, row, joinKey(e.Key())))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		k := joinKey(de.Key())
		if k == "" {
			return fmt.Errorf("%s:%d: %s", name, row, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return fmt.Errorf("%s:%d: %s", name, row, valueError(doc, k, de))
	}
	// A value's own parser refused it (UnmarshalText of a size or a
	// duration): its message is already in admin's words; the key
	// comes from the decoder's error text when it names one.
	msg := err.Error()
	for key, e := range doc {
		if t := typeOf(key); t != nil && e.kind == unstable.String && strings.Contains(msg, fmt.Sprintf("%q", e.raw)) {
			return fmt.Errorf("%s:%d: %s: %s", name, e.line, key, cleanDecodeMessage(msg))
		}
	}
	return fmt.Errorf("%s: %s", name, cleanDecodeMessage(msg))
}

// valueError says what is wrong with the value of key: what was written
// and what is expected instead.
func valueError(doc document, key string, de *toml.DecodeError) string {
	t := typeOf(key)
	e, ok := doc[key]
	if t == nil || !ok {
		return key + ": " + cleanDecodeMessage(de.Error())
	}
	if e.kind == unstable.String {
		return fmt.Sprintf("%s: %q is not %s", key, e.raw, expected(t))
	}
	return fmt.Sprintf("%s: %s is not %s", key, e.raw, expected(t))
}

// cleanDecodeMessage drops the decoder's "toml: " prefix and anything
// naming a Go type.
func cleanDecodeMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "toml: ")
	if i := strings.Index(msg, " into "); i >= 0 && strings.Contains(msg[i:], " of type ") {
		msg = msg[:i]
	}
	return msg
}

func joinKey(k toml.Key) string {
	var b bytes.Buffer
	for i, p := range k {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// validate checks ranges that the types cannot express.
func (c *Config) validate() error {
	var errs []error
	check := func(ok bool, key, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
		}
	}
	check(c.DataDir != "", "data_dir", "must not be empty")
	check(oneOf(c.Log.Level, "debug", "info", "warn", "error"), "log.level", "%q is not debug, info, warn or error", c.Log.Level)
	check(oneOf(c.Log.Format, "text", "json"), "log.format", "%q is not text or json", c.Log.Format)
	check(oneOf(c.Log.Output, "stderr", "syslog"), "log.output", "%q is not stderr or syslog", c.Log.Output)
	t := c.Tokenizer
	check(t.Window >= 1 && t.Window <= 8, "tokenizer.window", "%d is not between 1 and 8", t.Window)
	check(t.MaxBytes > 0, "tokenizer.max_bytes", "must be positive")
	check(t.MaxParts > 0, "tokenizer.max_parts", "must be positive")
	check(t.MaxDepth > 0, "tokenizer.max_depth", "must be positive")
	check(t.MaxWords > 0, "tokenizer.max_words", "must be positive")
	check(t.MaxWordsPerPart > 0, "tokenizer.max_words_per_part", "must be positive")
	check(t.MaxTime > 0, "tokenizer.max_time", "must be positive")
	if _, err := t.Networks(); err != nil {
		check(false, "tokenizer.trusted_networks", "%v", err)
	}
	for _, h := range t.Hosts() {
		check(!strings.ContainsAny(h, "@/") && h != "", "tokenizer.trusted_hosts", "%q is not a host or domain name", h)
	}
	s := c.Statfile
	check(s.Path != "", "statfile.path", "must not be empty")
	check(s.InitialSlots >= 1024 && s.InitialSlots&(s.InitialSlots-1) == 0, "statfile.initial_slots", "%d is not a power of two of at least 1024", s.InitialSlots)
	check(s.MaxSize >= 1<<20, "statfile.max_size", "%v is below 1MiB", s.MaxSize)
	check(s.MaxLoad >= 0.5 && s.MaxLoad <= 0.95, "statfile.max_load", "%v is not between 0.5 and 0.95", s.MaxLoad)
	k := c.Classifier
	check(k.MinTokens >= 0, "classifier.min_tokens", "must not be negative")
	check(k.MinLearns >= 0, "classifier.min_learns", "must not be negative")
	check(k.MinTokenHits >= 0, "classifier.min_token_hits", "must not be negative")
	check(k.MinProbStrength >= 0 && k.MinProbStrength < 0.5, "classifier.min_prob_strength", "%v is not in [0, 0.5)", k.MinProbStrength)
	check(k.RobinsonS > 0, "classifier.robinson_s", "must be positive")
	check(k.RobinsonX > 0 && k.RobinsonX < 1, "classifier.robinson_x", "%v is not in (0, 1)", k.RobinsonX)
	check(k.MaxTokens >= 0, "classifier.max_tokens", "must not be negative")
	check(k.SpamSymbolScore >= 0, "classifier.bayes_spam_score", "must not be negative")
	check(k.HamSymbolScore <= 0, "classifier.bayes_ham_score", "must not be positive")
	a := c.Actions
	check(a.AddHeader >= 0 && a.RewriteSubject >= 0 && a.Greylist >= 0 && a.Reject >= 0, "actions", "thresholds must not be negative")
	errs = append(errs, c.validateThresholds()...)
	for name, w := range c.Rules.Weights() {
		check(!math.IsNaN(w) && !math.IsInf(w, 0), "rules."+strings.ToLower(name), "must be a finite number")
	}
	errs = append(errs, c.Neural.validate()...)
	errs = append(errs, c.Milter.validate()...)
	errs = append(errs, c.Spamd.validate()...)
	errs = append(errs, c.Learner.validate()...)
	errs = append(errs, c.Greylist.validate()...)
	errs = append(errs, c.Cluster.validate()...)
	errs = append(errs, validateProfiles(c.Profiles)...)
	errs = append(errs, c.validateLists()...)
	return errors.Join(errs...)
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// WriteDefaults writes the defaults as a commented TOML file.
func WriteDefaults(w io.Writer) error { return Write(w, Default()) }

// Write writes cfg as a commented TOML file.
func Write(w io.Writer, cfg Config) error {
	b, err := toml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("write the configuration: %w", err)
	}
	if len(cfg.Profiles) == 0 {
		b = append(b, profilesExample...)
	}
	if len(cfg.Lists) == 0 {
		b = append(b, listsExample...)
	}
	_, err = w.Write(b)
	return err
}

// profilesExample documents [profiles] in a configuration that has none
// (an empty map is not written at all).
const profilesExample = `
# Settings profiles (none by default): the mail of some recipients gets its own
# thresholds (unset ones are [actions]') and, with [neural] use_settings, its own
# network. A message takes the profile of its first recipient that matches; an
# rspamd client may name one with the Settings-ID header. For example:
#
# [profiles.finance]
# recipients = ['@finance.example.com', 'ceo@example.com']
# reject = 10.0
`
