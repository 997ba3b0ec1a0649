package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/server"
)

// Main is a running statusd: the store, the HTTP server and their lifecycle.
// Run starts it; Close undoes Run in reverse order.
type Main struct {
	Config *Config
	Logger *slog.Logger

	Store    *data.Store
	Server   *server.Server
	Notifier *notifier.Engine // nil when notifier.enabled is false
	Registry *prometheus.Registry

	ln        net.Listener
	serveDone chan error

	stopWatch context.CancelFunc
	watchDone chan struct{}

	stopMaint context.CancelFunc
	maintDone chan struct{}
}

// Run opens and migrates the store, syncs the configured journeys and
// components into it, renders the first snapshot and starts serving on the
// configured address. It returns once the listener is bound.
func (m *Main) Run(ctx context.Context) (err error) {
	cfg := m.Config
	log := m.Logger
	defer func() {
		if err != nil {
			m.closeStore()
		}
	}()
	m.Store, err = data.Open(ctx, cfg.Database.Path)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	applied, err := m.Store.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "migrations", strings.Join(applied, ","))
	}
	res, err := m.Store.SyncCatalog(ctx, cfg.Catalog(), "config")
	if err != nil {
		return fmt.Errorf("sync journeys and components: %w", err)
	}
	if res.Changed() {
		log.Info("synced configuration", "added", len(res.Added), "updated", len(res.Updated),
			"archived", len(res.Archived), "restored", len(res.Restored))
	}

	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	links := make([]server.Link, 0, len(cfg.Page.Branding.Links))
	for _, l := range cfg.Page.Branding.Links {
		links = append(links, server.Link{Name: l.Name, URL: l.URL})
	}
	subscribe, err := m.newNotifier(ctx)
	if err != nil {
		return fmt.Errorf("start notifier: %w", err)
	}
	m.Server, err = server.New(m.Store, server.Options{
		Page: server.Page{ID: cfg.Page.ID, Name: cfg.Page.Name, URL: cfg.Page.URL, TimeZoneName: cfg.Page.TimeZone,
			Location: cfg.Page.Location, Language: cfg.Page.Language, AccentColor: cfg.Page.Branding.AccentColor,
			SupportURL: cfg.Page.Branding.SupportURL, Links: links},
		Cache: server.CachePolicy{MaxAge: cfg.Cache.MaxAge, StaleWhileRevalidate: cfg.Cache.StaleWhileRevalidate,
			StaleIfError: cfg.Cache.StaleIfError, CDNMaxAge: cfg.Cache.CDNMaxAge},
		Debounce: cfg.Snapshot.Debounce, Refresh: cfg.Snapshot.Refresh, StaleAfter: cfg.Snapshot.StaleAfter,
		HistoryDays: cfg.Snapshot.HistoryDays,
		ReadTimeout: cfg.Server.ReadTimeout, WriteTimeout: cfg.Server.WriteTimeout, IdleTimeout: cfg.Server.IdleTimeout,
		BodyLimit: cfg.Server.BodyLimit,
		Version:   version, Logger: log, Registerer: m.Registry, Gatherer: m.Registry,
		Subscribe: subscribe,
	})
	if err != nil {
		return fmt.Errorf("start web server: %w", err)
	}
	var lc net.ListenConfig
	m.ln, err = lc.Listen(ctx, "tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	m.Server.Start(context.WithoutCancel(ctx))
	if err := m.startNotifier(ctx); err != nil {
		return err
	}
	// Commits from other processes (statusd set-status, a restore) reach
	// the page within a second.
	var wctx context.Context
	wctx, m.stopWatch = context.WithCancel(context.WithoutCancel(ctx))
	m.watchDone = make(chan struct{})
	go func() {
		defer close(m.watchDone)
		if err := m.Store.Watch(wctx, time.Second); err != nil {
			log.Error("watch database for outside changes", "err", err)
		}
	}()
	// Automatic maintenance windows start and complete at their times,
	// including those that began while statusd was down.
	var mctx context.Context
	mctx, m.stopMaint = context.WithCancel(context.WithoutCancel(ctx))
	m.maintDone = make(chan struct{})
	go func() {
		defer close(m.maintDone)
		m.Store.RunMaintenance(mctx, 30*time.Second, func(err error) { log.Error("advance maintenance", "err", err) })
	}()
	m.serveDone = make(chan error, 1)
	go func() { m.serveDone <- m.Server.Serve(m.ln) }()
	log.Info("serving", "addr", m.ln.Addr().String(), "db", cfg.Database.Path, "version", version)
	return nil
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Close shuts down in the reverse order of Run, each step bounded by ctx: the
// server stops accepting and finishes in-flight requests (readyz turns 503
// first), the snapshot builder stops, the notifier finishes sends in flight
// and leaves the rest queued, and the store closes last. A failed
// step is logged and the rest still run.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.Server != nil {
		if err := m.Server.Shutdown(ctx); err != nil {
			m.Logger.Error("shut down web server", "err", err)
			errs = append(errs, err)
		}
		if m.serveDone != nil {
			select {
			case err := <-m.serveDone:
				if err != nil && !errors.Is(err, net.ErrClosed) {
					errs = append(errs, err)
				}
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("wait for listener: %w", ctx.Err()))
			}
		}
	}
	if m.stopMaint != nil {
		m.stopMaint()
		select {
		case <-m.maintDone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("wait for maintenance scheduler: %w", ctx.Err()))
		}
	}
	// Senders finish what is in flight and leave the rest queued.
	if err := m.stopNotifier(ctx); err != nil {
		m.Logger.Error("stop notifier", "err", err)
		errs = append(errs, err)
	}
	if m.stopWatch != nil {
		m.stopWatch()
		select {
		case <-m.watchDone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("wait for database watch: %w", ctx.Err()))
		}
	}
	if err := m.closeStore(); err != nil {
		m.Logger.Error("close database", "err", err)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *Main) closeStore() error {
	if m.Store == nil {
		return nil
	}
	return m.Store.Close()
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", envOr(getenv, "STATUSD_CONFIG", "config.yaml"), "configuration `file` (STATUSD_CONFIG)")
	listen := fs.String("listen", getenv("STATUSD_LISTEN"), "listen `address`, overrides server.listen (STATUSD_LISTEN)")
	dbPath := fs.String("db", getenv("STATUSD_DB"), "SQLite database `path`, overrides database.path (STATUSD_DB)")
	logLevel := fs.String("log-level", envOr(getenv, "STATUSD_LOG_LEVEL", "info"), "debug, info, warn or error (STATUSD_LOG_LEVEL)")
	logFormat := fs.String("log-format", envOr(getenv, "STATUSD_LOG_FORMAT", "text"), "text or json (STATUSD_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	if *listen != "" {
		if _, _, err := net.SplitHostPort(*listen); err != nil {
			fmt.Fprintf(stderr, "serve: --listen %q: %v\n", *listen, err)
			return 2
		}
	}
	cfg, err := LoadConfig(*configPath, getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *listen != "" {
		cfg.Server.Listen = *listen
	}
	if *dbPath != "" {
		cfg.Database.Path = *dbPath
	}
	m := &Main{Config: cfg, Logger: log}
	if err := m.Run(ctx); err != nil {
		log.Error("start", "err", err)
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.Close(closeCtx) // the start error is the one to report
		return 1
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout.String())
	case err := <-m.serveDone:
		log.Error("web server stopped", "err", err)
		m.serveDone <- err // let Close see it
	}
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		return 1
	}
	log.Info("stopped")
	return 0
}
