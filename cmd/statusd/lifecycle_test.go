package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder notes starts and stops in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recorder) sub(name string, startErr, stopErr error) subsystem {
	return funcs{name: name,
		start: func(context.Context) error { r.note("start " + name); return startErr },
		stop:  func(context.Context) error { r.note("stop " + name); return stopErr },
	}
}

func TestLifecycle(t *testing.T) {
	t.Run("stops in reverse", func(t *testing.T) {
		var r recorder
		l := lifecycle{log: slog.New(slog.DiscardHandler), timeout: time.Minute}
		if err := l.start(context.Background(), r.sub("a", nil, nil), r.sub("b", nil, nil), r.sub("c", nil, nil)); err != nil {
			t.Fatal(err)
		}
		if err := l.stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}
		if got := r.get(); !reflect.DeepEqual(got, want) {
			t.Errorf("events = %q; want %q", got, want)
		}
		if err := l.stop(context.Background()); err != nil || len(r.get()) != len(want) {
			t.Errorf("a second stop = %v, events %q; want nothing done", err, r.get())
		}
	})

	t.Run("failed start stops only what started", func(t *testing.T) {
		var r recorder
		l := lifecycle{log: slog.New(slog.DiscardHandler), timeout: time.Minute}
		boom := errors.New("boom")
		err := l.start(context.Background(), r.sub("a", nil, nil), r.sub("b", boom, nil), r.sub("c", nil, nil))
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "start b") {
			t.Fatalf("start = %v; want boom, naming b", err)
		}
		if err := l.stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := []string{"start a", "start b", "stop a"}
		if got := r.get(); !reflect.DeepEqual(got, want) {
			t.Errorf("events = %q; want %q", got, want)
		}
	})

	t.Run("a failed or stuck stop does not stop the others", func(t *testing.T) {
		var r recorder
		l := lifecycle{log: slog.New(slog.DiscardHandler), timeout: 50 * time.Millisecond}
		release := make(chan struct{})
		defer close(release)
		stuck := funcs{name: "stuck", stop: func(context.Context) error {
			r.note("stop stuck")
			<-release // ignores ctx
			return nil
		}}
		var gotDeadline bool
		bounded := funcs{name: "bounded", stop: func(ctx context.Context) error {
			_, gotDeadline = ctx.Deadline()
			r.note("stop bounded")
			return nil
		}}
		boom := errors.New("boom")
		if err := l.start(context.Background(), bounded, r.sub("failing", nil, boom), stuck); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- l.stop(context.Background()) }()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatal("stop hung on a subsystem that ignores its context")
		}
		if !errors.Is(err, boom) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stop = %v; want both the failure and the deadline", err)
		}
		want := []string{"start failing", "stop stuck", "stop failing", "stop bounded"}
		if got := r.get(); !reflect.DeepEqual(got, want) {
			t.Errorf("events = %q; want %q", got, want)
		}
		if !gotDeadline {
			t.Error("Stop's context had no deadline; want the shutdown timeout")
		}
	})
}

// startMainWith runs the real Main like startMain, after change has
// adjusted its configuration and the Main itself.
func startMainWith(t *testing.T, log io.Writer, change func(*Main)) *Main {
	t.Helper()
	cfg, err := LoadConfig("../../config.example.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Database.Path = filepath.Join(t.TempDir(), "statusd.db")
	cfg.Server.DrainDelay = 0
	m := &Main{Config: cfg, Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if change != nil {
		change(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func closeMain(t *testing.T, m *Main) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestDrainDelay shuts a real Main down with a drain it ends by hand: during
// the drain /readyz answers 503 and pages still 200 on the same listener;
// after it the port is closed.
func TestDrainDelay(t *testing.T) {
	type wait struct {
		d       time.Duration
		release chan time.Time
	}
	waits := make(chan wait, 1)
	m := startMainWith(t, io.Discard, func(m *Main) {
		m.Config.Server.DrainDelay = 7 * time.Second
		m.Config.Server.OpsListen = "127.0.0.1:0"
		m.after = func(d time.Duration) <-chan time.Time {
			w := wait{d, make(chan time.Time)}
			waits <- w
			return w.release
		}
	})
	base, ops := "http://"+m.Addr(), "http://"+m.OpsAddr()
	if code, _, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("before shutdown: /readyz = %d %s; want 200", code, body)
	}

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		closed <- m.Close(ctx)
	}()
	var w wait
	select {
	case w = <-waits:
	case err := <-closed:
		t.Fatalf("Close returned %v without draining", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not start draining")
	}
	if w.d != 7*time.Second {
		t.Errorf("drain waited for %v; want server.drain_delay, 7s", w.d)
	}
	// Close is now in its drain: new connections are still served.
	for _, u := range []string{base, ops} {
		code, _, body := httpGet(t, u+"/readyz")
		if code != 503 || !strings.Contains(string(body), `"shutting_down":true`) {
			t.Errorf("during the drain: GET %s/readyz = %d %s; want 503, shutting down", u, code, body)
		}
	}
	if code, _, _ := httpGet(t, base+"/"); code != 200 {
		t.Errorf("during the drain: GET / = %d; want 200", code)
	}
	if code, _, _ := httpGet(t, base+"/api/v2/status.json"); code != 200 {
		t.Errorf("during the drain: GET /api/v2/status.json = %d; want 200", code)
	}
	if code, _, _ := httpGet(t, ops+"/metrics"); code != 200 {
		t.Errorf("during the drain: GET ops /metrics = %d; want 200", code)
	}

	close(w.release)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close did not return after the drain")
	}
	for _, addr := range []string{m.Addr(), m.OpsAddr()} {
		if c, err := net.DialTimeout("tcp", addr, 10*time.Second); err == nil {
			c.Close()
			t.Errorf("after the drain: %s still accepts connections", addr)
		}
	}
}

// TestOpsListen: with server.ops_listen, /metrics moves to its own listener.
func TestOpsListen(t *testing.T) {
	m := startMainWith(t, io.Discard, func(m *Main) { m.Config.Server.OpsListen = "127.0.0.1:0" })
	defer closeMain(t, m)
	base, ops := "http://"+m.Addr(), "http://"+m.OpsAddr()
	if m.Addr() == m.OpsAddr() {
		t.Fatalf("ops address %s is the public one", m.OpsAddr())
	}
	tests := []struct {
		url      string
		wantCode int
		wantBody string
	}{
		{ops + "/metrics", 200, "statusd_snapshot_age_seconds"},
		{ops + "/healthz", 200, "ok"},
		{ops + "/readyz", 200, `"ready":true`},
		{ops + "/", 404, ""},
		{ops + "/api/v2/status.json", 404, ""},
		{base + "/metrics", 404, ""},
		{base + "/healthz", 200, "ok"},
		{base + "/readyz", 200, `"ready":true`},
		{base + "/", 200, "<html"},
	}
	for _, tt := range tests {
		code, _, body := httpGet(t, tt.url)
		if code != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
			t.Errorf("GET %s = %d %.80q; want %d with %q", tt.url, code, body, tt.wantCode, tt.wantBody)
		}
	}

	t.Run("without ops_listen the public listener serves metrics", func(t *testing.T) {
		m := startMainWith(t, io.Discard, nil)
		defer closeMain(t, m)
		if m.OpsAddr() != "" {
			t.Errorf("OpsAddr() = %q; want none", m.OpsAddr())
		}
		if code, _, body := httpGet(t, "http://"+m.Addr()+"/metrics"); code != 200 || !strings.Contains(string(body), "statusd_snapshot_age_seconds") {
			t.Errorf("GET /metrics = %d; want 200 with statusd metrics", code)
		}
	})
}

// TestMainStopOrder checks the real Main stops its subsystems in the reverse
// order of starting them.
func TestMainStopOrder(t *testing.T) {
	var log syncBuffer
	m := startMainWith(t, &log, func(m *Main) { m.Config.Server.OpsListen = "127.0.0.1:0" })
	closeMain(t, m)
	var started, stopped []string
	for line := range strings.SplitSeq(log.String(), "\n") {
		_, name, ok := strings.Cut(line, "subsystem=")
		if !ok {
			continue
		}
		name = strings.Trim(name, `"`)
		switch {
		case strings.Contains(line, "msg=started"):
			started = append(started, name)
		case strings.Contains(line, "msg=stopped"):
			stopped = append(stopped, name)
		}
	}
	// The database first (then the notifier, which the subscribe flow of the
	// snapshot builder's server sends through), the listeners last; stopping
	// is the exact reverse.
	if len(started) < 6 || started[0] != "database" || started[1] != "notifier" || started[2] != "snapshot builder" ||
		!reflect.DeepEqual(started[len(started)-2:], []string{"ops listener", "listener"}) {
		t.Errorf("started %q; want the database, the notifier, the snapshot builder, …, the ops listener and the listener", started)
	}
	wantStop := slices.Clone(started)
	slices.Reverse(wantStop)
	if !reflect.DeepEqual(stopped, wantStop) {
		t.Errorf("stopped %q; want %q\nlog:\n%s", stopped, wantStop, log.String())
	}
}

// TestRunFailureStopsWhatStarted: a listen address in use fails Run after
// the database opened, and the database is closed again.
func TestRunFailureStopsWhatStarted(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg, err := LoadConfig("../../config.example.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Listen = busy.Addr().String()
	cfg.Database.Path = filepath.Join(t.TempDir(), "statusd.db")
	m := &Main{Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	err = m.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start listener") {
		t.Fatalf("Run on a busy address = %v; want a listener error", err)
	}
	if err := m.Store.Ping(context.Background()); err == nil {
		t.Error("the database is still open after a failed Run")
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("Close after a failed Run = %v; want nothing to do", err)
	}
}
