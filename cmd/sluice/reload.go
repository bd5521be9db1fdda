package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// SIGHUP reloads the configuration in every daemon (systemd's
// ExecReload=kill -HUP $MAINPID): scanstack.Reloader says what it applies.

// onHUP calls reload for each SIGHUP until stop (idempotent) or ctx ends;
// from the call on, SIGHUP no longer ends the process.
func onHUP(ctx context.Context, reload func()) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-hup:
				reload()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(hup)
			close(done)
			wg.Wait()
		})
	}
}
