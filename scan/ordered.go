package scan

import (
	"bytes"
	"context"
	"sync"
)

// ScanOrdered scans many messages with up to workers goroutines (a
// Scanner is safe for concurrent use) and calls emit for each, in input
// order, from the calling goroutine. walk yields the messages, by name;
// it runs in a goroutine of its own and should stop at yield's first
// error. ScanOrdered stops at the first error emit returns, or walk's.
func (s *Scanner) ScanOrdered(ctx context.Context, workers int, req Request,
	walk func(yield func(name string, msg []byte) error) error,
	emit func(name string, v *Verdict, err error) error) error {
	type result struct {
		name string
		msg  []byte
		v    *Verdict
		err  error
		done chan struct{}
	}
	workers = max(workers, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pending := make(chan *result, 4*workers) // in input order
	jobs := make(chan *result)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range jobs {
				r.v, r.err = s.Scan(ctx, bytes.NewReader(r.msg), req)
				close(r.done)
			}
		})
	}
	walkErr := make(chan error, 1)
	go func() {
		defer close(pending)
		defer close(jobs)
		walkErr <- walk(func(name string, msg []byte) error {
			r := &result{name: name, msg: msg, done: make(chan struct{})}
			select {
			case pending <- r:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- r:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		})
	}()
	var err error
	for r := range pending {
		if err != nil {
			continue // drain so that the walker ends
		}
		<-r.done
		if err = emit(r.name, r.v, r.err); err != nil {
			cancel()
		}
	}
	wg.Wait()
	if werr := <-walkErr; err == nil && werr != nil {
		err = werr
	}
	return err
}
