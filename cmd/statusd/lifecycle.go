package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// subsystem is one part of a running statusd that starts and stops: the
// database, the snapshot builder, the database watch, a listener; next the
// probes, the notifier and the schedulers.
type subsystem interface {
	Name() string
	// Start returns once the subsystem runs; work it begins goes on until
	// Stop. ctx bounds starting only.
	Start(ctx context.Context) error
	// Stop undoes Start and waits for what it began, bounded by ctx.
	Stop(ctx context.Context) error
}

// funcs is a subsystem made of two functions; a nil one does nothing.
type funcs struct {
	name        string
	start, stop func(context.Context) error
}

func (f funcs) Name() string { return f.name }

func (f funcs) Start(ctx context.Context) error {
	if f.start == nil {
		return nil
	}
	return f.start(ctx)
}

func (f funcs) Stop(ctx context.Context) error {
	if f.stop == nil {
		return nil
	}
	return f.stop(ctx)
}

// lifecycle starts subsystems in order and stops the started ones in
// reverse, each stop bounded by timeout. Like alertmanager's onStop hooks, a
// failed or late stop is logged and the others still run.
type lifecycle struct {
	log     *slog.Logger
	timeout time.Duration // for each Stop
	started []subsystem
}

// start starts subs in order. On the first failure it returns that error,
// leaving the subsystems started so far for stop.
func (l *lifecycle) start(ctx context.Context, subs ...subsystem) error {
	for _, s := range subs {
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("start %s: %w", s.Name(), err)
		}
		l.started = append(l.started, s)
		l.log.Debug("started", "subsystem", s.Name())
	}
	return nil
}

// stop stops every started subsystem, last started first. Each gets at most
// l.timeout (and no more than ctx allows); one that overruns is left behind
// so that the rest still stop.
func (l *lifecycle) stop(ctx context.Context) error {
	var errs []error
	for i := len(l.started) - 1; i >= 0; i-- {
		s := l.started[i]
		if err := l.stopOne(ctx, s); err != nil {
			l.log.Error("stop", "subsystem", s.Name(), "err", err)
			errs = append(errs, fmt.Errorf("stop %s: %w", s.Name(), err))
			continue
		}
		l.log.Debug("stopped", "subsystem", s.Name())
	}
	l.started = nil
	return errors.Join(errs...)
}

func (l *lifecycle) stopOne(ctx context.Context, s subsystem) error {
	if l.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- s.Stop(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// A Stop that ignores ctx must not hold up the others; its goroutine
		// ends with the process.
		return fmt.Errorf("did not stop in time: %w", ctx.Err())
	}
}

// loop is a subsystem that runs one function in a goroutine until Stop
// cancels its context, and waits for it to return.
type loop struct {
	name   string
	run    func(ctx context.Context)
	cancel context.CancelFunc
	done   chan struct{}
}

func (l *loop) Name() string { return l.name }

func (l *loop) Start(ctx context.Context) error {
	var lctx context.Context
	lctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.done = make(chan struct{})
	go func() {
		defer close(l.done)
		l.run(lctx)
	}()
	return nil
}

func (l *loop) Stop(ctx context.Context) error {
	if l.cancel == nil {
		return nil
	}
	l.cancel()
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
