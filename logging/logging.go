// Package logging builds the daemons' log/slog logger from [log]: its
// level, its format (text or json) and its output, stderr or the local
// syslog (facility mail, so that the lines land beside Postfix's and
// Dovecot's in mail.log). A record's slog level becomes the syslog
// severity (debug, info, warning, err); syslog stamps the time, so the
// lines sent there carry none of their own.
//
// When there is no syslog to reach (no /dev/log, in a container), the
// logger writes to stderr and says so once, at warning level: a daemon
// does not refuse to start over where its logs go.
package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"sync"
)

// Options are the [log] section's values.
type Options struct {
	Level  string // debug, info, warn, error (default info)
	Format string // text or json (default text)
	Output string // stderr or syslog (default stderr)
	// Tag is the syslog program name (default "sluice").
	Tag string
	// SyslogNetwork and SyslogAddr say where syslog is ("", "": the
	// local syslog, /dev/log); tests give a socket of their own.
	SyslogNetwork, SyslogAddr string
}

// New returns the logger Options describe; stderr is where it writes
// unless Output is syslog and syslog can be reached.
func New(o Options, stderr io.Writer) *slog.Logger {
	var level slog.Level
	if o.Level != "" {
		_ = level.UnmarshalText([]byte(o.Level)) // config validated it
	}
	if o.Output != "syslog" {
		return slog.New(newHandler(o.Format, stderr, &slog.HandlerOptions{Level: level}))
	}
	tag := o.Tag
	if tag == "" {
		tag = "sluice"
	}
	w, err := syslog.Dial(o.SyslogNetwork, o.SyslogAddr, syslog.LOG_MAIL|syslog.LOG_INFO, tag)
	if err != nil {
		l := slog.New(newHandler(o.Format, stderr, &slog.HandlerOptions{Level: level}))
		l.Warn("log.output is syslog but syslog cannot be reached: logging to stderr", "err", err)
		return l
	}
	return slog.New(newSyslogHandler(o.Format, w, level))
}

func newHandler(format string, w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// priorityWriter is what syslogHandler needs of *syslog.Writer.
type priorityWriter interface {
	Debug(string) error
	Info(string) error
	Warning(string) error
	Err(string) error
}

// sink is shared by a syslog handler and the handlers derived from it
// (With, WithGroup): the formatting handler writes one record into buf,
// which is then sent with the record's severity.
type sink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	out   priorityWriter
	level slog.Level
}

func (s *sink) Write(p []byte) (int, error) { return s.buf.Write(p) }

func (s *sink) send() error {
	line := string(bytes.TrimRight(s.buf.Bytes(), "\n"))
	s.buf.Reset()
	switch {
	case s.level >= slog.LevelError:
		return s.out.Err(line)
	case s.level >= slog.LevelWarn:
		return s.out.Warning(line)
	case s.level >= slog.LevelInfo:
		return s.out.Info(line)
	}
	return s.out.Debug(line)
}

// syslogHandler formats records as text or JSON without a time (syslog
// adds it) and sends each as one syslog message of its severity.
type syslogHandler struct {
	inner slog.Handler
	sink  *sink
}

func newSyslogHandler(format string, w priorityWriter, level slog.Leveler) *syslogHandler {
	s := &sink{out: w}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}
	return &syslogHandler{inner: newHandler(format, s, opts), sink: s}
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	h.sink.buf.Reset()
	h.sink.level = r.Level
	if err := h.inner.Handle(ctx, r); err != nil {
		return fmt.Errorf("logging: format: %w", err)
	}
	if err := h.sink.send(); err != nil {
		return fmt.Errorf("logging: syslog: %w", err)
	}
	return nil
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &syslogHandler{inner: h.inner.WithAttrs(as), sink: h.sink}
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	return &syslogHandler{inner: h.inner.WithGroup(name), sink: h.sink}
}
