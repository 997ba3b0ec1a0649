package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// Sessions are server-side: the cookie holds 32 random bytes (base64url),
// the store keeps only their SHA-256 digest, with the user, a CSRF token,
// the last request's time (for the idle limit) and an absolute expiry. A
// sign-in always starts a new session, so an id planted before sign-in is
// worthless after it.
//
// CSRF: every admin form carries a synchroniser token bound to the session
// (the sign-in form, which has no session yet, carries an HMAC of a
// short-lived random cookie), and every unsafe request must also pass an
// origin check (Sec-Fetch-Site, else Origin). fiber's csrf middleware would
// need fiber's session store or a double-submit cookie; our sessions are
// already server-side rows, so binding the token to the row is simpler and
// cannot be forged by a sibling domain setting cookies.

const (
	sessionCookieName       = "statusd_session"
	secureSessionCookieName = "__Secure-statusd_session"
	loginCookieName         = "statusd_login"
	secureLoginCookieName   = "__Secure-statusd_login"
	// tokenBytes is the length of every random secret: session ids, CSRF
	// tokens, API tokens.
	tokenBytes = 32
	// touchEvery limits writes: a session's last-seen time is updated at
	// most this often, which is far below any idle limit.
	touchEvery = time.Minute
	// loginFormLife is how long a sign-in form may be left open.
	loginFormLife = time.Hour
)

type ctxKey int

const sessionKey ctxKey = iota

// randomToken returns tokenBytes random bytes and their base64url text.
func randomToken() ([]byte, string) {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b, base64.RawURLEncoding.EncodeToString(b)
}

// parseToken decodes a cookie or token value made by randomToken. Anything
// else (wrong length, other alphabets, padding) is refused before it gets
// near the store.
func parseToken(v string) ([]byte, bool) {
	if len(v) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != tokenBytes {
		return nil, false
	}
	return b, true
}

func digest(b []byte) []byte {
	d := sha256.Sum256(b)
	return d[:]
}

// secure reports whether cookies must be Secure: the request came over TLS
// (or through a proxy saying so) or the page's URL is https.
func (a *admin) secure(c *fiber.Ctx) bool {
	return a.httpsPage || c.Protocol() == "https"
}

func (a *admin) sessionCookie(c *fiber.Ctx) string {
	if a.secure(c) {
		return secureSessionCookieName
	}
	return sessionCookieName
}

func (a *admin) loginCookie(c *fiber.Ctx) string {
	if a.secure(c) {
		return secureLoginCookieName
	}
	return loginCookieName
}

func (a *admin) setCookie(c *fiber.Ctx, name, value, path, sameSite string, maxAge time.Duration) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: path, HTTPOnly: true, Secure: a.secure(c), SameSite: sameSite,
		MaxAge: int(maxAge / time.Second)}
	if maxAge < 0 {
		ck.Value, ck.MaxAge, ck.Expires = "", -1, time.Unix(1, 0)
	}
	c.Cookie(ck)
}

// sessionOf is the request's signed-in session, or nil.
func sessionOf(c *fiber.Ctx) *data.Session {
	ss, _ := c.Locals(sessionKey).(*data.Session)
	return ss
}

// loadSession finds the request's session, if its cookie names a live one,
// and keeps it alive. A session past its idle or absolute limit, or whose
// user is disabled, is deleted and its cookie cleared.
func (a *admin) loadSession(c *fiber.Ctx) error {
	raw, ok := parseToken(c.Cookies(a.sessionCookie(c)))
	if !ok {
		return c.Next()
	}
	ctx, cancel := bound(c)
	defer cancel()
	hash := digest(raw)
	ss, err := a.store.SessionByHash(ctx, hash)
	if errors.Is(err, data.ErrNotFound) {
		a.setCookie(c, a.sessionCookie(c), "", "/admin", fiber.CookieSameSiteLaxMode, -1)
		return c.Next()
	}
	if err != nil {
		return err
	}
	now := a.now()
	if !now.Before(ss.ExpiresAt) || now.Sub(ss.LastSeenAt) >= a.opts.SessionIdle || ss.User.Disabled() {
		if err := a.store.DeleteSession(ctx, hash, ""); err != nil {
			a.log.Warn("delete expired session", "err", err)
		}
		a.setCookie(c, a.sessionCookie(c), "", "/admin", fiber.CookieSameSiteLaxMode, -1)
		return c.Next()
	}
	if now.Sub(ss.LastSeenAt) >= touchEvery {
		if err := a.store.TouchSession(ctx, hash, now); err != nil {
			return err
		}
		ss.LastSeenAt = now
	}
	c.Locals(sessionKey, &ss)
	return c.Next()
}

// require lets the request on only with a session whose user may do p.
// Without a session, a page request is sent to sign in (and back after).
func (a *admin) require(p permission, h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ss := sessionOf(c)
		if ss == nil {
			next := "/admin/"
			if c.Method() == fiber.MethodGet {
				next = c.Path()
				if q := c.Request().URI().QueryString(); len(q) > 0 {
					next += "?" + string(q)
				}
			}
			return c.Redirect("/admin/login?next="+url.QueryEscape(next), fiber.StatusSeeOther)
		}
		if !can(ss.User.Role, p) {
			return fiber.NewError(fiber.StatusForbidden, "Your role ("+ss.User.Role.Label()+") does not allow this. Ask an admin if you need it.")
		}
		return h(c)
	}
}

// checkCSRF guards every unsafe admin UI request: first the browser's own
// word on where it came from, then the form token.
func (a *admin) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if !sameOrigin(c) {
		return fiber.NewError(fiber.StatusForbidden, "This form was sent from another site, so it was refused.")
	}
	if c.Path() == "/admin/login" {
		return c.Next() // checked by the handler, which can show the form again
	}
	ss := sessionOf(c)
	if ss == nil {
		return c.Redirect("/admin/login", fiber.StatusSeeOther)
	}
	if subtle.ConstantTimeCompare([]byte(c.FormValue("csrf")), []byte(ss.CSRFToken)) != 1 {
		return fiber.NewError(fiber.StatusForbidden, "This form has expired (you may have signed in again since it was opened). Go back, reload the page and try again.")
	}
	return c.Next()
}

// sameOrigin applies what browsers say about a request's origin: with
// Sec-Fetch-Site it must be same-origin (or none, for typed URLs and
// bookmarks); otherwise an Origin header must name this host. A request
// with neither is not from a modern browser's cross-site form and is left
// to the token check.
func sameOrigin(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, string(c.Request().Host()))
}

// loginFormToken is the sign-in form's CSRF token for the browser's sign-in
// cookie: an HMAC, so only this server can make one.
func (a *admin) loginFormToken(cookie []byte) string {
	m := hmac.New(sha256.New, a.loginKey)
	m.Write([]byte("statusd sign-in form\x00"))
	m.Write(cookie)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// loginForm gives the browser a sign-in cookie (keeping a valid one, so two
// tabs both work) and returns the form token that goes with it.
func (a *admin) loginForm(c *fiber.Ctx) string {
	raw, ok := parseToken(c.Cookies(a.loginCookie(c)))
	if !ok {
		var v string
		raw, v = randomToken()
		a.setCookie(c, a.loginCookie(c), v, "/admin/login", fiber.CookieSameSiteStrictMode, loginFormLife)
	}
	return a.loginFormToken(raw)
}

func (a *admin) loginFormValid(c *fiber.Ctx) bool {
	raw, ok := parseToken(c.Cookies(a.loginCookie(c)))
	return ok && hmac.Equal([]byte(c.FormValue("csrf")), []byte(a.loginFormToken(raw)))
}

// safeNext keeps a post-sign-in redirect inside the admin UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/admin/"
	}
	return next
}

func (a *admin) loginPage(c *fiber.Ctx) error {
	if sessionOf(c) != nil {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	v := a.base(c, "Sign in")
	v.CSRF = a.loginForm(c)
	v.Login = &loginView{Next: safeNext(c.Query("next")), SignOut: c.Query("signed_out") == "1"}
	if v.Login.SignOut {
		v.Notice = "You have signed out."
	}
	return a.render(c, "login.html", v)
}

// errBadLogin is the one answer to an unknown address, a wrong password
// and a disabled account alike, so the form tells nobody which accounts
// exist.
const errBadLogin = "That email address and password do not match an active account."

// login signs a person in. Unknown accounts cost the same argon2 check and
// the same store writes as wrong passwords and get the same answer; every
// failure counts against the account name as typed and the client address.
func (a *admin) login(c *fiber.Ctx) error {
	email, pw := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	v := a.base(c, "Sign in")
	v.Login = &loginView{Email: email, Next: safeNext(c.FormValue("next"))}
	again := func(code int, id, msg string) error {
		v.CSRF = a.loginForm(c)
		v.Errors = append(v.Errors, fieldError{ID: id, Message: msg})
		return a.renderStatus(c, code, "login.html", v)
	}
	if !a.loginFormValid(c) {
		// A fresh cookie and token come with the form shown again.
		a.setCookie(c, a.loginCookie(c), "", "/admin/login", fiber.CookieSameSiteStrictMode, -1)
		c.Request().Header.DelCookie(a.loginCookie(c))
		return again(fiber.StatusForbidden, "email", "The sign-in form had expired. Enter your password again and sign in.")
	}
	if email == "" || pw == "" {
		id := "email"
		if email != "" {
			id = "password"
		}
		return again(fiber.StatusUnprocessableEntity, id, "Enter your email address and your password.")
	}
	ctx, cancel := bound(c)
	defer cancel()
	ip := a.clientIP(c)
	now := a.now()
	f, err := a.store.CountLoginFailures(ctx, email, ip, now.Add(-a.opts.ThrottleWindow))
	if err != nil {
		return err
	}
	if f.Account >= a.opts.MaxAccountFailures || f.IP >= a.opts.MaxIPFailures {
		mins := int(a.opts.ThrottleWindow.Minutes())
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(a.opts.ThrottleWindow.Seconds())))
		return again(fiber.StatusTooManyRequests, "email",
			"Too many failed sign-ins. Wait "+strconv.Itoa(mins)+" minutes, then try again, or ask an admin to reset your password.")
	}
	u, hash, err := a.store.Credentials(ctx, email)
	ok := false
	switch {
	case errors.Is(err, data.ErrNotFound):
		_, _ = CheckPassword(a.dummyHash, pw) // as long as a real check; the answer is no anyway
	case err != nil:
		return err
	default:
		if ok, err = CheckPassword(hash, pw); err != nil {
			a.log.Error("check password: stored hash unreadable", "user", u.ID, "err", err)
		}
		ok = ok && !u.Disabled()
	}
	if !ok {
		if err := a.store.RecordLoginFailure(ctx, email, ip, now); err != nil {
			return err
		}
		return again(fiber.StatusUnauthorized, "email", errBadLogin)
	}
	raw, value := randomToken()
	_, csrf := randomToken()
	var replaces []byte
	if old, ok := parseToken(c.Cookies(a.sessionCookie(c))); ok {
		replaces = digest(old)
	}
	if err := a.store.CreateSession(ctx, data.NewSession{IDHash: digest(raw), UserID: u.ID, CSRFToken: csrf, At: now,
		ExpiresAt: now.Add(a.opts.SessionMax), IP: ip, UserAgent: c.Get(fiber.HeaderUserAgent), Replaces: replaces}); err != nil {
		return err
	}
	a.setCookie(c, a.sessionCookie(c), value, "/admin", fiber.CookieSameSiteLaxMode, a.opts.SessionMax)
	a.setCookie(c, a.loginCookie(c), "", "/admin/login", fiber.CookieSameSiteStrictMode, -1)
	return c.Redirect(v.Login.Next, fiber.StatusSeeOther)
}

func (a *admin) logout(c *fiber.Ctx) error {
	ss := sessionOf(c)
	ctx, cancel := bound(c)
	defer cancel()
	if err := a.store.DeleteSession(ctx, ss.IDHash, ss.User.Email); err != nil {
		return err
	}
	a.setCookie(c, a.sessionCookie(c), "", "/admin", fiber.CookieSameSiteLaxMode, -1)
	return c.Redirect("/admin/login?signed_out=1", fiber.StatusSeeOther)
}
