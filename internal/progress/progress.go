// Package progress prints a running count of bulk work (`sluice learn`
// of a directory) on a terminal, and nothing elsewhere.
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Counter prints a running count on a terminal during bulk work, at most
// ten times a second; elsewhere (pipes, logs, Dovecot) it prints nothing.
type Counter struct {
	w     io.Writer
	on    bool
	n     int
	start time.Time
	last  time.Time
}

// New returns a Counter writing to w, when w is a terminal and the work
// is bulk.
func New(w io.Writer, bulk bool) *Counter {
	return &Counter{w: w, on: bulk && isTerminal(w), start: time.Now()}
}

// Tick counts one item.
func (p *Counter) Tick() {
	p.n++
	if !p.on {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		rate := float64(p.n) / now.Sub(p.start).Seconds()
		fmt.Fprintf(p.w, "\r%d messages, %.0f/s ", p.n, rate)
	}
}

// Done prints the total.
func (p *Counter) Done() {
	if p.on && p.n > 0 {
		fmt.Fprintf(p.w, "\r%d messages in %.1fs\n", p.n, time.Since(p.start).Seconds())
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
