package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Learner configures `sluice learner` (and the learner inside `sluice
// serve`): the statfile's only writer, fed by `sluice learn` over a unix
// socket, by rspamd's HTTP learn endpoints, by its spool, and by the
// milters' scan records (autolearn; the socket is milter.feed_socket).
type Learner struct {
	Socket          string   `toml:"socket" comment:"Unix socket for sluice learn (Dovecot's sieve pipe); relative paths are below data_dir."`
	SocketMode      string   `toml:"socket_mode" comment:"Permissions of the socket and the spool (octal). Dovecot's mail user must reach both: use socket_group."`
	SocketGroup     string   `toml:"socket_group" comment:"Group of the socket and the spool directory, e.g. sluice-learn, which Dovecot gives its mail processes (mail_access_groups) (empty: the process's group)."`
	HTTPListen      string   `toml:"http_listen" comment:"rspamd-compatible HTTP learn endpoints (/learnspam, /learnham) and /metrics: inet:host:port, or empty for none.\nrspamc's default controller address is 127.0.0.1:11334."`
	Password        string   `toml:"password" comment:"Password that HTTP learn requests must send (rspamc -P, header Password:). Empty: the HTTP learn endpoints refuse every learn\n(/metrics and /ping still answer). Required when http_listen is not loopback."`
	PasswordFile    string   `toml:"password_file" comment:"Absolute path of a file whose first line is the password (instead of password): the daemons read it at start,\nso sluice.toml can stay readable by the mail user that runs sluice learn. Make it 0640 root:sluice."`
	MaxLearns       int      `toml:"max_concurrent_learns" comment:"Learns the socket, and the HTTP endpoints, each read and serve at once; one more is refused at once as busy\n(sluice learn then spools it). Bounds memory: this many times max_message_size per listener."`
	MaxUsers        int      `toml:"max_user_namespaces" comment:"With users_enabled, most per-user statistics kept; past it the user who learned least recently loses theirs\n(and is scored with the shared statistics)."`
	SpoolDir        string   `toml:"spool_dir" comment:"Where sluice learn queues a message when the learner cannot be reached and the statfile is busy; drained at start and every spool_interval."`
	SpoolInterval   Duration `toml:"spool_interval" comment:"How often the learner looks for spooled messages."`
	SpoolMax        int      `toml:"spool_max" comment:"Most messages the spool holds; past it sluice learn exits 75 (EX_TEMPFAIL) instead."`
	MaxMessageSize  ByteSize `toml:"max_message_size" comment:"Largest message one learn request carries; larger ones are refused."`
	ClientTimeout   Duration `toml:"client_timeout" comment:"How long sluice learn (and spamd's TELL) waits for each answer of the learner before it spools (a bulk learn exits 75);\nDovecot kills pipes after 10s."`
	MaxBatch        int      `toml:"max_batch" comment:"Most queued learns journaled together with one fsync (group commit)."`
	ShutdownTimeout Duration `toml:"shutdown_timeout" comment:"On SIGTERM, how long requests in flight may take."`
	Autolearn       bool     `toml:"autolearn" comment:"Learn from the milters' verdicts: spam at score >= spam_score, ham at score <= ham_score."`
	SpamScore       float64  `toml:"spam_score" comment:"Autolearn as spam from this score on (rspamd's spam_score)."`
	HamScore        float64  `toml:"ham_score" comment:"Autolearn as ham up to this score (rspamd's ham_score)."`
	MinProb         float64  `toml:"min_prob" comment:"Do not autolearn a class Bayes is already this sure of (0.95: spam at >= 95%, ham at <= 5%)."`
	MinBalance      float64  `toml:"min_balance" comment:"Do not autolearn a class whose learns exceed the other's (+1) by more than 1/min_balance."`
	AutolearnLocal  bool     `toml:"autolearn_local" comment:"Also autolearn mail from local clients (loopback, unix socket). Never authenticated or trusted mail."`
}

func defaultLearner() Learner {
	return Learner{
		Socket:          "learner.sock",
		SocketMode:      "0660",
		HTTPListen:      "inet:127.0.0.1:11334",
		SpoolDir:        "spool",
		SpoolInterval:   Duration(30 * time.Second),
		SpoolMax:        10000,
		MaxMessageSize:  32 << 20,
		ClientTimeout:   Duration(5 * time.Second),
		MaxBatch:        256,
		MaxLearns:       8,
		MaxUsers:        10000,
		ShutdownTimeout: Duration(10 * time.Second),
		SpamScore:       8,
		HamScore:        -2,
		MinProb:         0.95,
		MinBalance:      0.9,
	}
}

// Mode returns the socket permissions parsed from SocketMode.
func (l Learner) Mode() (uint32, error) {
	v, err := strconv.ParseUint(l.SocketMode, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("%q is not an octal mode such as 0660", l.SocketMode)
	}
	return uint32(v), nil
}

// HTTPLoopback reports whether HTTPListen binds a loopback address only.
func (l Learner) HTTPLoopback() bool { return loopback(l.HTTPListen) }

// loopback reports whether an inet:host:port address binds a loopback
// address only.
func loopback(addr string) bool {
	_, rest, _ := strings.Cut(addr, ":")
	host, _, err := splitHostPort(rest)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// validate checks the learner section; each error names its key.
func (l Learner) validate() []error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("learner.%s: %w", key, err))
		}
	}
	if l.Socket == "" {
		add("socket", fmt.Errorf("must not be empty"))
	}
	if _, err := l.Mode(); err != nil {
		add("socket_mode", err)
	}
	if l.HTTPListen != "" {
		if err := checkListen(l.HTTPListen); err != nil || !strings.HasPrefix(l.HTTPListen, "inet") {
			add("http_listen", fmt.Errorf("%q is not inet:host:port", l.HTTPListen))
		} else if !l.HTTPLoopback() && l.Password == "" && l.PasswordFile == "" {
			add("password", fmt.Errorf("must be set when http_listen (%s) is not a loopback address", l.HTTPListen))
		}
	}
	add("password_file", checkPasswordFile(l.Password, l.PasswordFile))
	if l.SpoolDir == "" {
		add("spool_dir", fmt.Errorf("must not be empty"))
	}
	positive := func(key string, ok bool) {
		if !ok {
			add(key, fmt.Errorf("must be positive"))
		}
	}
	positive("spool_interval", l.SpoolInterval > 0)
	positive("spool_max", l.SpoolMax > 0)
	positive("max_message_size", l.MaxMessageSize > 0)
	positive("client_timeout", l.ClientTimeout > 0)
	positive("max_batch", l.MaxBatch > 0)
	positive("max_concurrent_learns", l.MaxLearns > 0)
	positive("max_user_namespaces", l.MaxUsers > 0)
	positive("shutdown_timeout", l.ShutdownTimeout > 0)
	if l.HamScore >= l.SpamScore {
		add("ham_score", fmt.Errorf("%v is not below spam_score %v", l.HamScore, l.SpamScore))
	}
	if l.MinProb <= 0.5 || l.MinProb > 1 {
		add("min_prob", fmt.Errorf("%v is not in (0.5, 1]", l.MinProb))
	}
	if l.MinBalance <= 0 || l.MinBalance > 1 {
		add("min_balance", fmt.Errorf("%v is not in (0, 1]", l.MinBalance))
	}
	return errs
}
