package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) fiberConfig() fiber.Config {
	header := ""
	if len(s.proxies) > 0 {
		// fiber believes ProxyHeader from every peer unless the trusted
		// proxy check is on: set it only with proxies to trust.
		header = s.opts.ProxyHeader
	}
	return fiber.Config{
		// c.IP(), c.Protocol() and c.Hostname() believe X-Forwarded-*
		// headers only from trusted proxies, and with none from nobody.
		// The rate limits use s.clientIP, which reads the header from the
		// right (clientip.go).
		ProxyHeader:             header,
		EnableTrustedProxyCheck: true,
		TrustedProxies:          s.opts.TrustedProxies,
		EnableIPValidation:      true,
		// Handlers keep no fiber values past their return; Immutable would
		// copy every string for nothing on the hot path.
		Immutable:             false,
		DisableStartupMessage: true,
		ReadTimeout:           s.opts.ReadTimeout,
		WriteTimeout:          s.opts.WriteTimeout,
		IdleTimeout:           s.opts.IdleTimeout,
		BodyLimit:             s.opts.BodyLimit,
		ReadBufferSize:        8192,
		ErrorHandler:          ErrorHandler(s.log, nil),
		// The listener given to Serve decides the network.
		Network: fiber.NetworkTCP,
	}
}

func (s *Server) routes() *fiber.App {
	app := fiber.New(s.fiberConfig())
	app.Use(s.metrics.middleware)
	app.Use(recover.New())

	// Health stays on the public app with SeparateOps too: a load balancer
	// in front of the public listener checks /readyz there.
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	if s.opts.Gatherer != nil && !s.opts.SeparateOps {
		app.Get("/metrics", s.metricsHandler())
	}
	if s.opts.SLOPush != nil {
		app.Post("/api/admin/slo/:id/events", s.pushSLOEvents)
	}
	s.embedRoutes(app) // embed.go: /embed…, /badge…
	// Every public document comes from the snapshot. Fiber's Get also
	// answers HEAD.
	for _, p := range []string{"/", "/history", "/history.rss", "/history.atom", "/incidents/:id", "/api/v2/*", "/assets/*", "/subscribe", "/feeds/*"} {
		app.Get(p, s.servePublic)
	}
	s.subscribeRoutes(app)
	app.Use(s.notFound)
	return app
}

// opsRoutes is the app of the operations listener: health and metrics only.
func (s *Server) opsRoutes() *fiber.App {
	app := fiber.New(s.fiberConfig())
	app.Use(recover.New())
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	if s.opts.Gatherer != nil {
		app.Get("/metrics", s.metricsHandler())
	}
	return app
}

func (s *Server) metricsHandler() fiber.Handler {
	h := promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return adaptor.HTTPHandler(h)
}

// notFound answers what no route matched: 404 from the snapshot for GET and
// HEAD, 405 for other methods on public paths.
func (s *Server) notFound(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		c.Set(fiber.HeaderAllow, "GET, HEAD")
		return fiber.ErrMethodNotAllowed
	}
	return s.servePublic(c)
}

func (s *Server) healthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString("ok\n")
}

type readiness struct {
	Ready          bool    `json:"ready"`
	Version        string  `json:"version"`
	Store          string  `json:"store"`
	SnapshotAgeSec float64 `json:"snapshot_age_seconds"`
	Stale          bool    `json:"stale"`
	ShuttingDown   bool    `json:"shutting_down,omitempty"`
}

// readyz is 200 when the store answers and the snapshot's data is fresh, and
// 503 otherwise (or while shutting down), so a load balancer can route
// around an instance that only serves old data.
func (s *Server) readyz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	r := readiness{Ready: true, Version: s.opts.Version, Store: "ok"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		r.Ready, r.Store = false, "unreachable"
	}
	age := s.dataAge()
	r.SnapshotAgeSec = age.Seconds()
	if age < 0 || age > s.opts.StaleAfter {
		r.Ready, r.Stale = false, true
	}
	if s.stopping.Load() {
		r.Ready, r.ShuttingDown = false, true
	}
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	return c.Status(code).JSON(r)
}
