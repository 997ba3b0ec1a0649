package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"

	"github.com/statusd/statusd/data"
)

// AdminStore is what the admin UI and API read and change. *data.Store
// satisfies it.
type AdminStore interface {
	Credentials(ctx context.Context, email string) (data.User, string, error)
	Users(ctx context.Context) ([]data.User, error)
	CreateUser(ctx context.Context, n data.NewUser) (data.User, error)
	UpdateUser(ctx context.Context, email string, ch data.UserChange) (data.User, error)

	CreateSession(ctx context.Context, n data.NewSession) error
	SessionByHash(ctx context.Context, idHash []byte) (data.Session, error)
	TouchSession(ctx context.Context, idHash []byte, at time.Time) error
	DeleteSession(ctx context.Context, idHash []byte, actor string) error
	RecordLoginFailure(ctx context.Context, email, ip string, at time.Time) error
	CountLoginFailures(ctx context.Context, email, ip string, since time.Time) (data.LoginFailures, error)

	CreateAPIToken(ctx context.Context, n data.NewAPIToken, idem *data.Idempotency) (data.APIToken, error)
	APITokens(ctx context.Context) ([]data.APIToken, error)
	APITokenByHash(ctx context.Context, hash []byte) (data.APIToken, error)
	TouchAPIToken(ctx context.Context, id, ip string, at time.Time) error
	RevokeAPIToken(ctx context.Context, id, actor string) (data.APIToken, error)
	IdempotentResponse(ctx context.Context, tokenID, key string) (data.StoredResponse, error)

	SearchAudit(ctx context.Context, f data.AuditFilter) ([]data.AuditEntry, error)
	RecordAudit(ctx context.Context, a data.AuditChange) error
	Inputs(ctx context.Context, componentID string) ([]data.Input, error)
	SetInputs(ctx context.Context, ins []data.Input) ([]data.StatusChange, error)
	ClearInput(ctx context.Context, componentID string, src data.InputSource, key, actor, reason string) (bool, error)
}

var _ AdminStore = (*data.Store)(nil)

// AdminOptions configure the admin UI and API. Zero durations take the
// defaults noted.
type AdminOptions struct {
	// Store enables the admin UI and API; nil leaves them out, and
	// /admin and /api/admin are ordinary public 404s.
	Store AdminStore
	// SessionIdle ends a session after this long without a request; 1h.
	SessionIdle time.Duration
	// SessionMax ends a session this long after sign-in, however busy; 12h.
	SessionMax time.Duration
	// ThrottleWindow is how far back failed sign-ins count; 15m.
	ThrottleWindow time.Duration
	// MaxAccountFailures failed sign-ins for one account within the window
	// refuse further attempts for it; 10.
	MaxAccountFailures int
	// MaxIPFailures failed sign-ins from one client address within the
	// window refuse further attempts from it; 30.
	MaxIPFailures int
	// ProxyHeader names the header a reverse proxy in front puts the client
	// address in (X-Forwarded-For, X-Real-IP), for throttling and the audit
	// log. Leave it empty without such a proxy: clients could set it.
	ProxyHeader string
	// TrustedProxies, if set, are the only peers (IPs or CIDR ranges)
	// whose ProxyHeader and X-Forwarded-Proto are believed.
	TrustedProxies []string
	// Templates are message templates from the configuration, beside the
	// built-in ones (a configured one with a built-in's id replaces it).
	Templates []data.MessageTemplate
	// AutoPublish names the journeys whose drafts proposed by detection are
	// published without waiting for a person.
	AutoPublish map[string]bool
	// Previewer renders previews of email and webhooks as the notifier
	// sends them; nil renders them in the admin.
	Previewer MessagePreviewer
	// Separate keeps the admin off the public listener: the caller serves
	// AdminApp on a listener of its own (an internal address, say), and
	// /admin and /api/admin on the public listener are public 404s.
	Separate bool
}

func (o *AdminOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SessionIdle, time.Hour)
	def(&o.SessionMax, 12*time.Hour)
	def(&o.ThrottleWindow, 15*time.Minute)
	if o.MaxAccountFailures <= 0 {
		o.MaxAccountFailures = 10
	}
	if o.MaxIPFailures <= 0 {
		o.MaxIPFailures = 30
	}
}

// admin is the admin UI (/admin/…) and API (/api/admin/…): a fiber app of
// its own, with its own error handler, middleware and headers, so nothing of
// it (sessions, cookies, store reads) runs on the public read path, which
// only pays for one prefix check.
type admin struct {
	srv   *Server
	store AdminStore
	opts  AdminOptions
	log   *slog.Logger
	now   func() time.Time
	app   *fiber.App
	tmpl  *template.Template
	css   asset

	// proxies are AdminOptions.TrustedProxies (clientip.go).
	proxies proxySet

	// httpsPage is set when page.url is https: cookies are then Secure even
	// if TLS ends at a proxy in front.
	httpsPage bool
	// loginKey signs the sign-in form's CSRF token (there is no session to
	// bind it to yet). It lives for the process: a form opened before a
	// restart asks to be sent again.
	loginKey []byte
	// dummyHash is checked against when an account does not exist, so that
	// answering takes as long as for a wrong password.
	dummyHash string

	api []apiRoute // the API's routes, from which the OpenAPI document is made

	// incidents is the store's incident workflow (drafts, publish, notes,
	// templates); nil when the store has none. builtin are the built-in and
	// configured message templates.
	incidents IncidentStore
	builtin   []data.MessageTemplate
}

// adminContentSecurityPolicy allows the admin stylesheet and nothing else:
// the admin pages have no script at all.
const adminContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func newAdmin(s *Server, o AdminOptions) (*admin, error) {
	o.defaults()
	a := &admin{srv: s, store: o.Store, opts: o, log: s.opts.Logger.With("component", "admin"), now: s.opts.Now,
		httpsPage: strings.HasPrefix(s.opts.Page.URL, "https://"), loginKey: make([]byte, 32)}
	if _, err := rand.Read(a.loginKey); err != nil {
		return nil, fmt.Errorf("make sign-in form key: %w", err)
	}
	var err error
	if a.proxies, err = parseProxies(o.TrustedProxies); err != nil {
		return nil, err
	}
	if a.tmpl, err = parseAdminTemplates(); err != nil {
		return nil, err
	}
	if a.css, err = adminStylesheet(); err != nil {
		return nil, err
	}
	if a.dummyHash, err = HashPassword("not a password anyone has: " + rand.Text()); err != nil {
		return nil, err
	}
	if err := a.initIncidents(); err != nil {
		return nil, err
	}
	a.app = fiber.New(fiber.Config{
		// The admin side is not a hot path: copying every value is worth
		// never holding a reused buffer by mistake.
		Immutable:             true,
		DisableStartupMessage: true,
		ErrorHandler:          a.handleError,
		BodyLimit:             s.opts.BodyLimit,
		// These apply when the app has a listener of its own (Separate);
		// on the public listener the public server's settings do.
		ReadTimeout:        s.opts.ReadTimeout,
		WriteTimeout:       s.opts.WriteTimeout,
		IdleTimeout:        s.opts.IdleTimeout,
		ReadBufferSize:     8192,
		ProxyHeader:        o.ProxyHeader,
		EnableIPValidation: true,
		TrustedProxies:     o.TrustedProxies,
		// fiber believes proxy headers from anyone unless told whom to
		// trust.
		EnableTrustedProxyCheck: len(o.TrustedProxies) > 0,
	})
	a.app.Use(s.metrics.middleware)
	a.app.Use(recover.New())
	a.app.Use(a.headers)
	a.uiRoutes()
	a.apiRoutes()
	a.app.Use(func(c *fiber.Ctx) error {
		return fiber.NewError(fiber.StatusNotFound, "There is nothing at this address.")
	})
	return a, nil
}

// mountAdmin makes the admin app and, unless it is Separate, puts it on the
// public app's listener: requests for /admin and /api/admin go to it,
// everything else to the public app. One listener keeps small installs
// simple (one port, one TLS terminator); the separate app keeps the two
// sides' middleware, errors and headers apart. Separate serves it on a
// listener of its own, for installs that keep the admin off the internet.
func (s *Server) mountAdmin(o AdminOptions) error {
	if o.Store == nil {
		return nil
	}
	a, err := newAdmin(s, o)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	s.admin = a
	if o.Separate {
		return nil
	}
	srv := s.app.Server()
	public, private := srv.Handler, a.app.Handler()
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		if isAdminPath(ctx.Path()) {
			private(ctx)
			return
		}
		public(ctx)
	}
	return nil
}

// AdminApp is the admin UI and API app, for a listener of its own
// (AdminOptions.Separate) and for tests; nil without an admin.
func (s *Server) AdminApp() *fiber.App {
	if s.admin == nil {
		return nil
	}
	return s.admin.app
}

// isAdminPath reports whether a (normalised) request path belongs to the
// admin app: /admin, /api/admin or anything below them. Case matters, as
// the public app's routes are matched case-insensitively but these are not
// meant to be found by accident.
func isAdminPath(p []byte) bool {
	for _, prefix := range [][]byte{[]byte("/admin"), []byte("/api/admin")} {
		if bytes.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/') {
			return true
		}
	}
	return false
}

func isAPIPath(p string) bool { return strings.HasPrefix(p, "/api/admin") }

// headers sets what every admin response carries: never stored by any
// cache, never framed, no script.
func (a *admin) headers(c *fiber.Ctx) error {
	h := &c.Response().Header
	h.Set(fiber.HeaderCacheControl, "no-store")
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	h.Set(fiber.HeaderReferrerPolicy, "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if isAPIPath(c.Path()) {
		h.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'")
	} else {
		h.Set(fiber.HeaderContentSecurityPolicy, adminContentSecurityPolicy)
		h.Set(fiber.HeaderVary, "Cookie")
	}
	if a.httpsPage {
		h.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000")
	}
	return c.Next()
}

// handleError is the one place admin errors become responses: JSON for the
// API, the admin error page for the UI. It maps errors with the server's
// shared ErrorFor, keeping the messages of *fiber.Error that admin handlers
// write for people (which scope is missing, why a role may not do this).
// Internals are logged, never shown.
func (a *admin) handleError(c *fiber.Ctx, err error) error {
	e, internal := ErrorFor(err)
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Message != "" && fe.Message != http.StatusText(fe.Code) {
		e.Message = fe.Message
	}
	if internal {
		a.log.Error("admin request failed", "method", c.Method(), "path", c.Path(), "code", e.Code, "err", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if e.Code == http.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	if isAPIPath(c.Path()) {
		return c.Status(e.Code).JSON(apiError{Field: e.Field, Message: e.Message})
	}
	msg := e.Message
	if e.Field != "" {
		msg = sentence(&data.InvalidError{Field: e.Field, Reason: e.Message})
	}
	v := a.base(c, "Error")
	v.Error = &adminErrorView{Code: e.Code, Title: http.StatusText(e.Code), Message: msg}
	return a.renderStatus(c, e.Code, "error.html", v)
}

// bound gives a handler's store calls a deadline: fasthttp does not cancel a
// request whose client has gone.
func bound(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.UserContext(), 10*time.Second)
}
