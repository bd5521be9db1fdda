package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spamd configures `sluice spamd`, the listener for Exim (spamd and rspamd
// variants), spamc and rspamd's HTTP clients. The default port is rspamd's
// normal worker's (11333): rspamc and rspamd clients find it without
// options, spamc needs -p 11333 (spamd's 783 is a privileged port).
type Spamd struct {
	Listen          string   `toml:"listen" comment:"Where the spamd/rspamd listener listens: inet:host:port or unix:/path, or off (sluice serve then runs none). The --listen flag overrides it."`
	SocketMode      string   `toml:"socket_mode" comment:"Permissions of a unix socket (octal). Exim's user (Debian-exim) must be able to write it."`
	MaxSize         ByteSize `toml:"max_size" comment:"Largest message kept per request; past it only this much is scanned (PROCESS and HEADERS answer EX_DATAERR)."`
	MaxHeaders      int      `toml:"max_headers" comment:"Header lines of one request (Exim sends one Rcpt line per recipient)."`
	MaxLineLength   ByteSize `toml:"max_line_length" comment:"Longest request line or header line of a request."`
	HeaderTimeout   Duration `toml:"header_timeout" comment:"Time for a request's line and header fields, from the connection's start: idle and slow clients are let go after it."`
	Timeout         Duration `toml:"timeout" comment:"Time for one request: reading it, scanning or learning, replying. Exim waits 2m (its tmo option)."`
	ShutdownTimeout Duration `toml:"shutdown_timeout" comment:"On SIGTERM, how long requests in flight may take before their connections are closed."`
	MaxConnections  int      `toml:"max_connections" comment:"Connections served at once; one more is closed at once."`
	MaxPerClient    int      `toml:"max_connections_per_client" comment:"Connections from one client IP address; loopback clients (the local MTA) are exempt."`
	AllowLearn      bool     `toml:"allow_learn" comment:"Accept learning (spamc -L, TELL; rspamc learn_spam/learn_ham): over a unix socket from whoever may open it (socket_mode, socket_group),\nover TCP only with password. A listen address off loopback needs a password, or allow_learn = false."`
	Password        string   `toml:"password" comment:"Password that learns over TCP must send (a Password header: rspamc -P). Empty: learning over TCP is off."`
	PasswordFile    string   `toml:"password_file" comment:"Absolute path of a file whose first line is the password (instead of password), read at start; see learner.password_file."`
	LearnSocket     string   `toml:"learn_socket" comment:"A unix socket where the listener also answers, for learning without a password (spamc -U PATH -L spam);\nrelative paths are below data_dir. Empty: none."`
	SocketGroup     string   `toml:"socket_group" comment:"Group of the unix sockets (listen, learn_socket), e.g. Debian-exim (empty: the process's group)."`
	MetricsListen   string   `toml:"metrics_listen" comment:"Where sluice spamd serves Prometheus /metrics: inet:host:port (e.g. inet:127.0.0.1:11335), unix:/path, or off.\nOff by default, as the milter's. sluice serve ignores it: its /metrics is on learner.http_listen."`
}

func defaultSpamd() Spamd {
	return Spamd{
		Listen:          "inet:127.0.0.1:11333",
		SocketMode:      "0660",
		MaxSize:         10 << 20,
		MaxHeaders:      1024,
		MaxLineLength:   8 << 10,
		HeaderTimeout:   Duration(10 * time.Second),
		Timeout:         Duration(time.Minute),
		ShutdownTimeout: Duration(30 * time.Second),
		MaxConnections:  512,
		MaxPerClient:    64,
		AllowLearn:      true,
		MetricsListen:   Off,
	}
}

// Mode returns the unix socket permissions parsed from SocketMode.
func (s Spamd) Mode() (uint32, error) {
	v, err := strconv.ParseUint(s.SocketMode, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("%q is not an octal mode such as 0660", s.SocketMode)
	}
	return uint32(v), nil
}

// LearnAuthError says why the listener may not start with learning on:
// learning over TCP off loopback needs a password (issue 14: anyone who
// could connect could teach the filter). nil when learning is off, the
// listener is a unix socket, on loopback, or a password is set.
func (s Spamd) LearnAuthError() error {
	if !s.AllowLearn || s.Password != "" || s.PasswordFile != "" || !strings.HasPrefix(s.Listen, "inet") || loopback(s.Listen) {
		return nil
	}
	return fmt.Errorf("must be set when listen (%s) is not a loopback address and allow_learn is on (or set allow_learn = false)", s.Listen)
}

// validate checks the spamd section; each error names its key.
func (s Spamd) validate() []error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("spamd.%s: %w", key, err))
		}
	}
	if s.Listen != Off {
		add("listen", checkListen(s.Listen))
	}
	add("password", s.LearnAuthError())
	add("password_file", checkPasswordFile(s.Password, s.PasswordFile))
	if s.MetricsListen != Off && s.MetricsListen != "" {
		add("metrics_listen", checkListen(s.MetricsListen))
	}
	if strings.HasPrefix(s.LearnSocket, "unix:") {
		add("learn_socket", fmt.Errorf("%q is a path, not an address", s.LearnSocket))
	}
	if _, err := s.Mode(); err != nil {
		add("socket_mode", err)
	}
	positive := func(key string, ok bool) {
		if !ok {
			add(key, fmt.Errorf("must be positive"))
		}
	}
	positive("max_size", s.MaxSize > 0)
	positive("max_headers", s.MaxHeaders > 0)
	if s.MaxLineLength < 256 {
		add("max_line_length", fmt.Errorf("%v is below 256 bytes", s.MaxLineLength))
	}
	positive("timeout", s.Timeout > 0)
	positive("shutdown_timeout", s.ShutdownTimeout > 0)
	positive("max_connections", s.MaxConnections > 0)
	positive("header_timeout", s.HeaderTimeout > 0)
	positive("max_connections_per_client", s.MaxPerClient > 0)
	return errs
}
