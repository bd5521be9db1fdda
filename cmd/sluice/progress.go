package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// progress prints a running count on a terminal during bulk work, at most
// ten times a second; elsewhere (pipes, logs, Dovecot) it prints nothing.
type progress struct {
	w     io.Writer
	on    bool
	n     int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, bulk bool) *progress {
	return &progress{w: w, on: bulk && isTerminal(w), start: time.Now()}
}

func (p *progress) tick() {
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

func (p *progress) done() {
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

func isDir(paths []string) bool {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}
