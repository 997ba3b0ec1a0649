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
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/probes"
	"github.com/statusd/statusd/probes/demo"
	"github.com/statusd/statusd/probes/slo"
	"github.com/statusd/statusd/server"
)

// Main is a running statusd: the store, the HTTP server and their lifecycle.
// Run starts its subsystems in order; Close drains the listeners and stops
// them in reverse.
type Main struct {
	Config *Config
	Logger *slog.Logger

	Store    *data.Store
	Server   *server.Server
	Notifier *notifier.Engine // nil when notifier.enabled is false
	Registry *prometheus.Registry
	SLO      *slo.Engine // SLO figures, burn-rate alerts, feeds (serve_slo.go)
	sloPush  server.SLOPusher
	sloAuth  server.PushAuth

	// Now is the clock of the store, the page and the SLO engine; time.Now
	// when nil. Tests set it to move time.
	Now func() time.Time

	// Probes runs the configured probes (nil without any); Demo is the
	// in-process demo shop of probing.demo_upstream (nil when not set).
	Probes *probes.Service
	Demo   *demo.Server

	// after waits out the drain delay; nil is time.After. Tests replace it
	// to end the drain when they choose.
	after func(time.Duration) <-chan time.Time

	subscribe *server.SubscribeOptions // the subscribe flow, set by startNotifier
	life      lifecycle
	http, ops *listener
	admin     *listener  // nil unless admin.listen is set
	failed    chan error // a listener that stopped serving on its own

	stopWatch context.CancelFunc
	watchDone chan struct{}
}

// Run starts statusd's subsystems in this order: the database (opened,
// migrated, and the configured journeys and components synced into it), the
// notifier (deliveries and the subscribe flow), the snapshot builder (the
// first snapshot rendered), the watch for commits by
// other processes, the maintenance scheduler, the demo shop when
// probing.demo_upstream is set, the probes, the operations listener when
// server.ops_listen is set, and the public listener. It returns once both listeners are bound. If a
// subsystem fails to start, those already started are stopped again.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	m.life = lifecycle{log: m.Logger, timeout: cfg.Server.ShutdownTimeout}
	m.failed = make(chan error, 3)
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.http = &listener{name: "listener", addr: cfg.Server.Listen, app: func() *fiber.App { return m.Server.App() }, failed: m.failed}
	subs := []subsystem{
		funcs{"database", m.openStore, m.closeStore},
		// The notifier stops after the web server: senders finish what is
		// in flight and leave the rest queued.
		funcs{"notifier", m.startNotifier, m.stopNotifier},
		funcs{"snapshot builder", m.startServer, func(ctx context.Context) error { return m.Server.Stop(ctx) }},
		funcs{"SLO engine", m.startSLOs, m.stopSLOs},
		funcs{"database watch", m.startWatch, m.stopWatchLoop},
		// Automatic maintenance windows start and complete at their times,
		// including those that began while statusd was down.
		&loop{name: "maintenance scheduler", run: func(ctx context.Context) {
			m.Store.RunMaintenance(ctx, 30*time.Second, func(err error) { m.Logger.Error("advance maintenance", "err", err) })
		}},
	}
	// Probes start after the store and the maintenance scheduler and stop
	// after the listeners: the page keeps its last status to the end.
	if cfg.Probing.DemoUpstream != "" {
		subs = append(subs, funcs{"demo upstream", m.startDemo, m.stopDemo})
	}
	if len(cfg.Probes) > 0 {
		subs = append(subs, funcs{"probes", m.startProbes, m.stopProbes})
	}
	subs = append(subs, m.incidentSubsystems()...)
	if cfg.Server.OpsListen != "" {
		m.ops = &listener{name: "ops listener", addr: cfg.Server.OpsListen, app: func() *fiber.App { return m.Server.OpsApp() }, failed: m.failed}
		subs = append(subs, m.ops)
	}
	if cfg.Admin.Enabled && cfg.Admin.Listen != "" {
		m.admin = &listener{name: "admin listener", addr: cfg.Admin.Listen, app: func() *fiber.App { return m.Server.AdminApp() }, failed: m.failed}
		subs = append(subs, m.admin)
	}
	subs = append(subs, m.http)
	if err := m.life.start(ctx, subs...); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Server.ShutdownTimeout)
		defer cancel()
		_ = m.life.stop(stopCtx) // logged by stop; the start error is the one to report
		return err
	}
	attrs := []any{"addr", m.Addr(), "db", cfg.Database.Path, "version", version}
	if m.ops != nil {
		attrs = append(attrs, "ops_addr", m.OpsAddr())
	}
	if m.admin != nil {
		attrs = append(attrs, "admin_addr", m.AdminAddr())
	}
	m.Logger.Info("serving", attrs...)
	return nil
}

func (m *Main) openStore(ctx context.Context) (err error) {
	cfg, log := m.Config, m.Logger
	m.Store, err = data.Open(ctx, cfg.Database.Path)
	if err != nil {
		return fmt.Errorf("open %s: %w", cfg.Database.Path, err)
	}
	if m.Now != nil {
		m.Store.Now = m.Now
	}
	defer func() {
		if err != nil {
			_ = m.closeStore(ctx) // the migration or sync error is the one to report
		}
	}()
	applied, err := m.Store.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
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
	return nil
}

func (m *Main) closeStore(context.Context) error {
	if m.Store == nil {
		return nil
	}
	return m.Store.Close()
}

// startServer renders the first snapshot and starts rebuilding on changes.
func (m *Main) startServer(ctx context.Context) (err error) {
	cfg := m.Config
	// The SLO engine is made here, for the push API; it starts after.
	if err := m.newSLOEngine(); err != nil {
		return err
	}
	links := make([]server.Link, 0, len(cfg.Page.Branding.Links))
	for _, l := range cfg.Page.Branding.Links {
		links = append(links, server.Link{Name: l.Name, URL: l.URL})
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
		BodyLimit:   cfg.Server.BodyLimit,
		ProxyHeader: cfg.Server.ProxyHeader, TrustedProxies: cfg.Server.TrustedProxies,
		Version: version, Logger: m.Logger, Registerer: m.Registry, Gatherer: m.Registry,
		SeparateOps: cfg.Server.OpsListen != "", Now: m.Now, SLOPush: m.sloPush, SLOAuth: m.sloAuth,
		Admin:          m.incidentOptions(adminOptions(cfg.Admin, m.Store)),
		FrameAncestors: cfg.Embed.FrameAncestors, // config_embed.go
		Subscribe:      m.subscribe,              // notifier.go
	})
	if err != nil {
		return err
	}
	m.Server.Start(context.WithoutCancel(ctx))
	return nil
}

// startWatch lets commits from other processes (statusd set-status, a
// restore) reach the page within a second.
func (m *Main) startWatch(ctx context.Context) error {
	var wctx context.Context
	wctx, m.stopWatch = context.WithCancel(context.WithoutCancel(ctx))
	m.watchDone = make(chan struct{})
	go func() {
		defer close(m.watchDone)
		if err := m.Store.Watch(wctx, time.Second); err != nil {
			m.Logger.Error("watch database for outside changes", "err", err)
		}
	}()
	return nil
}

func (m *Main) stopWatchLoop(ctx context.Context) error {
	m.stopWatch()
	select {
	case <-m.watchDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Addr is the address the public listener is bound to.
func (m *Main) Addr() string { return m.http.ln.Addr().String() }

// OpsAddr is the address of the operations listener; "" without one.
func (m *Main) OpsAddr() string {
	if m.ops == nil || m.ops.ln == nil {
		return ""
	}
	return m.ops.ln.Addr().String()
}

// Close shuts down what Run started. /readyz turns 503 at once; the
// listeners keep serving for server.drain_delay, so that load balancers see
// it before connections are refused; then the subsystems stop in the
// reverse order of Run, each within server.shutdown_timeout: the public
// listener (in-flight requests finish), the operations listener, the
// database watch, the snapshot builder, the notifier (sends in flight
// finish, the rest stays queued) and the database last. A failed step
// is logged and the rest still run. ctx ends the drain early and bounds
// every step.
func (m *Main) Close(ctx context.Context) error {
	if m.Server != nil && len(m.life.started) > 0 {
		m.Server.Drain()
		if d := m.Config.Server.DrainDelay; d > 0 {
			m.Logger.Info("draining", "delay", d.String())
			after := m.after
			if after == nil {
				after = time.After
			}
			select {
			case <-after(d):
			case <-ctx.Done():
			}
		}
	}
	return m.life.stop(ctx)
}

// listener serves a fiber app on one address, as a subsystem.
type listener struct {
	name, addr string
	app        func() *fiber.App // called at Start, once the server exists
	failed     chan<- error      // told if serving ends before Stop

	ln       net.Listener
	served   *fiber.App
	done     chan error
	stopping atomic.Bool
}

func (l *listener) Name() string { return l.name }

func (l *listener) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", l.addr, err)
	}
	l.ln, l.served, l.done = ln, l.app(), make(chan error, 1)
	go func() {
		err := l.served.Listener(ln)
		if !l.stopping.Load() {
			select {
			case l.failed <- fmt.Errorf("%s on %s stopped: %w", l.name, l.addr, err):
			default:
			}
		}
		l.done <- err
	}()
	return nil
}

// Stop stops accepting connections and waits for requests in flight.
func (l *listener) Stop(ctx context.Context) error {
	l.stopping.Store(true)
	err := l.served.ShutdownWithContext(ctx)
	// fasthttp closes only listeners it has begun serving; one whose Serve
	// had not got that far would otherwise stay open.
	_ = l.ln.Close() // already closed in the usual case
	select {
	case serr := <-l.done:
		if serr != nil && !errors.Is(serr, net.ErrClosed) {
			err = errors.Join(err, serr)
		}
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("wait for %s: %w", l.name, ctx.Err()))
	}
	return err
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
	opsListen := fs.String("ops-listen", getenv("STATUSD_OPS_LISTEN"), "operations listen `address`, overrides server.ops_listen (STATUSD_OPS_LISTEN)")
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
	for name, addr := range map[string]string{"--listen": *listen, "--ops-listen": *opsListen} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			fmt.Fprintf(stderr, "serve: %s %q: %v\n", name, addr, err)
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
	if *opsListen != "" {
		cfg.Server.OpsListen = *opsListen
	}
	if *dbPath != "" {
		cfg.Database.Path = *dbPath
	}
	m := &Main{Config: cfg, Logger: log}
	if err := m.Run(ctx); err != nil {
		log.Error("start", "err", err)
		return 1
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("shutting down", "drain_delay", cfg.Server.DrainDelay.String(), "timeout", cfg.Server.ShutdownTimeout.String())
	case err := <-m.failed:
		log.Error("web server stopped", "err", err)
		code = 1
	}
	// Each step of Close is bounded by server.shutdown_timeout; a second
	// signal ends the process at once (see main).
	if err := m.Close(context.Background()); err != nil {
		return 1
	}
	if code == 0 {
		log.Info("stopped")
	}
	return code
}
