package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
)

// Watched is a service of a process that runs until it is asked to stop:
// Done delivers what it returned (a channel with room for one value).
type Watched struct {
	Name string
	Done chan error
}

// Watch waits until ctx ends, and returns nil then, or until one of the
// services ends first: a service that stops on its own has failed, even
// with a nil error or ErrServerClosed, so Watch logs it and returns an
// error that names it (the process exits non-zero and its supervisor,
// systemd, restarts it). The value received is put back on its channel,
// for the caller's shutdown path to collect. A nil Done is never ready.
func Watch(ctx context.Context, log *slog.Logger, services ...Watched) error {
	cases := make([]reflect.SelectCase, 0, len(services)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, s := range services {
		ch := reflect.ValueOf(s.Done)
		if s.Done == nil {
			ch = reflect.Value{} // ignored by Select
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: ch})
	}
	i, v, _ := reflect.Select(cases)
	if i == 0 {
		return nil
	}
	s := services[i-1]
	var err error
	if !v.IsNil() {
		err = v.Interface().(error)
	}
	s.Done <- err
	if err == nil || errors.Is(err, ErrServerClosed) {
		err = fmt.Errorf("%s stopped on its own", s.Name)
	} else {
		err = fmt.Errorf("%s stopped: %w", s.Name, err)
	}
	log.Error("a service ended; stopping the others", "service", s.Name, "err", err)
	return err
}
