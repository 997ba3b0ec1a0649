package server

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/data"
)

// Store is what the server reads: snapshots of the state, an incident too
// old for the snapshot, a signal when it changes, and a health check.
// *data.Store satisfies it.
type Store interface {
	Snapshot(ctx context.Context, o data.SnapshotOptions) (*data.Snapshot, error)
	Incident(ctx context.Context, id string) (data.Incident, error)
	Subscribe() (<-chan struct{}, func())
	Ping(ctx context.Context) error
}

var _ Store = (*data.Store)(nil)

// Page is the configured identity of the status page.
type Page struct {
	ID           string // Statuspage-style page id
	Name         string
	URL          string // public base URL without a trailing slash
	TimeZoneName string // IANA name
	Location     *time.Location
	Language     string
	AccentColor  string // #rrggbb, or "" for the default
	SupportURL   string
	Links        []Link
}

// Link is a footer link.
type Link struct {
	Name, URL string
}

// CachePolicy sets the lifetimes in public responses' cache headers.
type CachePolicy struct {
	MaxAge               time.Duration // browsers
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	CDNMaxAge            time.Duration // CDN-Cache-Control and Surrogate-Control
}

// Options configure a Server. Zero durations take the defaults noted.
type Options struct {
	Page         Page
	Cache        CachePolicy
	Debounce     time.Duration // wait for more changes before a rebuild; 250ms
	Refresh      time.Duration // rebuild at least this often; 1m
	StaleAfter   time.Duration // /readyz fails when the data is older; 5m
	HistoryDays  int           // uptime window; 90
	ReadTimeout  time.Duration // 10s
	WriteTimeout time.Duration // 10s
	IdleTimeout  time.Duration // 60s
	BodyLimit    int           // bytes; 1 MiB
	Version      string
	Logger       *slog.Logger
	Registerer   prometheus.Registerer // where metrics go; nil for none
	Gatherer     prometheus.Gatherer   // what /metrics serves; nil for no /metrics
	Now          func() time.Time
	// SLOPush serves POST /api/admin/slo/{id}/events when set, for admin
	// API tokens with the slo:write scope and for the tokens SLOAuth knows.
	SLOPush   SLOPusher
	SLOAuth   PushAuth
	Subscribe *SubscribeOptions // the public subscribe flow; nil turns it off
	// SeparateOps serves /metrics only from OpsApp, which the caller puts
	// on its own listener; the public app then answers 404 there.
	SeparateOps bool
	Admin       AdminOptions // the admin UI and API; off without Admin.Store
	// FrameAncestors are the origins allowed to frame /embed/frame
	// (embed.go); every other page forbids framing.
	FrameAncestors []string
	// ProxyHeader names the header reverse proxies in front (a CDN, a load
	// balancer) put the client's address in, such as X-Forwarded-For, so
	// that the subscribe flow's limits apply per client rather than to
	// everyone behind one proxy. It is read only from TrustedProxies, and
	// ignored without them: anyone can send the header.
	ProxyHeader string
	// TrustedProxies are the peers (IPs or CIDR ranges) whose ProxyHeader
	// is believed.
	TrustedProxies []string
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Debounce, 250*time.Millisecond)
	def(&o.Refresh, time.Minute)
	def(&o.StaleAfter, 5*time.Minute)
	def(&o.ReadTimeout, 10*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.IdleTimeout, 60*time.Second)
	if o.HistoryDays <= 0 {
		o.HistoryDays = 90
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Page.Location == nil {
		o.Page.Location = time.UTC
	}
	if o.Page.TimeZoneName == "" {
		o.Page.TimeZoneName = o.Page.Location.String()
	}
	if o.Page.Language == "" {
		o.Page.Language = "en"
	}
	o.Page.URL = strings.TrimRight(o.Page.URL, "/")
}

// Server serves the public page and API from snapshots of a Store.
type Server struct {
	opts    Options
	store   Store
	log     *slog.Logger
	app     *fiber.App
	ops     *fiber.App // /metrics, /healthz, /readyz for an operations listener
	tmpl    *template.Template
	css, js asset
	cache   cacheHeaders
	hsts    bool
	metrics *metrics
	subs    *subscribeState // the subscribe flow (maybe off)
	admin   *admin          // nil without Options.Admin.Store
	proxies proxySet        // Options.TrustedProxies (clientip.go)

	snap     atomic.Pointer[snapshot]
	lastGood atomic.Int64 // Unix nanoseconds of the last successful store read
	stopping atomic.Bool

	buildMu  sync.Mutex     // one rebuild at a time
	lastData *data.Snapshot // guarded by buildMu: the last data read, for stale rebuilds
	frags    fragments      // guarded by buildMu: rendered pieces kept between rebuilds
	assets   []doc          // rendered once: they change only with the binary
	archive  archive        // pages of incidents older than the snapshot
	embed    embedState     // guarded by buildMu: embed.go

	cancel context.CancelFunc
	wg     sync.WaitGroup

	lnMu      sync.Mutex
	listeners []net.Listener
}

// New parses the templates and assets, renders the first snapshot and sets up
// the routes. It fails if a template or asset is broken; a store that cannot
// be read only leaves the page saying so until it can.
func New(store Store, o Options) (*Server, error) {
	o.defaults()
	s := &Server{opts: o, store: store, log: o.Logger.With("component", "server"),
		cache: newCacheHeaders(o.Cache), hsts: strings.HasPrefix(o.Page.URL, "https://")}
	var err error
	if s.proxies, err = parseProxies(o.TrustedProxies); err != nil {
		return nil, err
	}
	if s.tmpl, err = parsePageTemplates(); err != nil {
		return nil, fmt.Errorf("parse page templates: %w", err)
	}
	if s.css, s.js, err = loadAssets(o.Page.AccentColor); err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	for _, a := range []asset{s.css, s.js} {
		s.assets = append(s.assets, doc{path: a.Path, kind: kindAsset, contentType: a.ContentType, body: a.Body})
	}
	s.metrics = newMetrics(o.Registerer, s)
	s.subs = newSubscribeState(o.Subscribe)
	s.app = s.routes()
	s.ops = s.opsRoutes()
	if err := s.mountAdmin(o.Admin); err != nil {
		return nil, err
	}
	if err := s.Rebuild(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// App is the fiber application, for tests (app.Test) and for serving.
func (s *Server) App() *fiber.App { return s.app }

// OpsApp is the fiber application of an operations listener: /metrics (when
// Options.Gatherer is set), /healthz and /readyz.
func (s *Server) OpsApp() *fiber.App { return s.ops }

// Start begins rebuilding the snapshot on changes, periodically and at day
// rollover. It returns at once; Shutdown stops it.
func (s *Server) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	changes, unsubscribe := s.store.Subscribe()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer unsubscribe()
		s.buildLoop(ctx, changes)
	}()
}

// Serve serves HTTP on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.lnMu.Lock()
	if s.stopping.Load() {
		s.lnMu.Unlock()
		return ln.Close()
	}
	s.listeners = append(s.listeners, ln)
	s.lnMu.Unlock()
	return s.app.Listener(ln)
}

// Drain marks the server not ready: from now on /readyz answers 503, so load
// balancers stop sending traffic, while every other request is still
// served. Serve refuses new listeners.
func (s *Server) Drain() {
	s.lnMu.Lock()
	s.stopping.Store(true)
	s.lnMu.Unlock()
}

// Shutdown marks the server not ready, stops accepting connections, waits for
// in-flight requests (bounded by ctx) and stops the rebuild loop.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Drain()
	err := s.app.ShutdownWithContext(ctx)
	// Shutdown only stops listeners fasthttp has begun serving; one whose
	// Serve had not got that far would otherwise run on.
	s.lnMu.Lock()
	for _, ln := range s.listeners {
		_ = ln.Close() // already closed in the usual case
	}
	s.lnMu.Unlock()
	return errors.Join(err, s.Stop(ctx))
}

// Stop stops the rebuild loop that Start began and waits for it, bounded by
// ctx. The snapshot stays and is still served.
func (s *Server) Stop(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for snapshot builder: %w", ctx.Err())
	}
}

func (s *Server) buildLoop(ctx context.Context, changes <-chan struct{}) {
	refresh := time.NewTicker(s.opts.Refresh)
	defer refresh.Stop()
	midnight := time.NewTimer(s.untilMidnight())
	defer midnight.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	// A steady stream of changes must not postpone the rebuild forever:
	// firstPending bounds the wait to maxDelay.
	maxDelay := 8 * s.opts.Debounce
	var firstPending time.Time
	build := func() {
		firstPending = time.Time{}
		bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := s.Rebuild(bctx); err != nil && ctx.Err() == nil {
			s.log.Error("rebuild snapshot", "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				changes = nil // the store closed; keep serving what we have
				continue
			}
			now := time.Now()
			if firstPending.IsZero() {
				firstPending = now
			}
			wait := s.opts.Debounce
			if rest := maxDelay - now.Sub(firstPending); rest < wait {
				wait = max(rest, 0)
			}
			debounce.Reset(wait)
		case <-debounce.C:
			build()
		case <-refresh.C:
			build()
		case <-midnight.C:
			build()
			midnight.Reset(s.untilMidnight())
		}
	}
}

// untilMidnight is the time to the next day in the page's zone, plus a
// second so the clock has surely turned.
func (s *Server) untilMidnight() time.Duration {
	now := s.opts.Now().In(s.opts.Page.Location)
	y, m, d := now.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, s.opts.Page.Location).Sub(now) + time.Second
}

// Rebuild reads the store and renders a new snapshot. If the store cannot be
// read, it renders the last data it had, marked stale, and returns nil: the
// page keeps working and says its data is old. It returns an error only if
// rendering fails, in which case the current snapshot stays.
func (s *Server) Rebuild(ctx context.Context) error {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	start := time.Now()
	snap, err := s.store.Snapshot(ctx, s.snapshotOptions())
	result := "ok"
	stale := false
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down or timed out: keep the snapshot as it is.
			return fmt.Errorf("read store for snapshot: %w", err)
		}
		if s.lastData == nil {
			// Nothing true can be shown without a first read: "all systems
			// operational" over an empty page would be a lie.
			return fmt.Errorf("read store for the first snapshot: %w", err)
		}
		result, stale = "stale", true
		s.log.Warn("read store for snapshot; serving last data", "err", err)
		snap = s.lastData
	} else {
		s.lastData = snap
		s.lastGood.Store(snap.TakenAt.UnixNano())
	}
	next, err := s.render(newModel(s.opts.Page, snap, stale))
	if err != nil {
		s.metrics.rebuilds.WithLabelValues("error").Inc()
		return fmt.Errorf("render snapshot: %w", err)
	}
	s.snap.Store(next)
	s.metrics.rebuilds.WithLabelValues(result).Inc()
	s.metrics.rebuildSeconds.Observe(time.Since(start).Seconds())
	return nil
}

// dataAge is how old the served data is.
func (s *Server) dataAge() time.Duration {
	ns := s.lastGood.Load()
	if ns == 0 {
		return -1
	}
	return s.opts.Now().Sub(time.Unix(0, ns))
}
