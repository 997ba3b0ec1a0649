package server

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// API tokens are "sdt_" and 32 random bytes in base64url. The store keeps
// the SHA-256 digest of the bytes: a token is long and random, so a fast
// hash is enough (nothing to guess), and a lookup is one indexed read.

const tokenKey ctxKey = iota + 100

// parseBearer reads an Authorization header value: "Bearer sdt_…", the
// scheme in any case. It returns the token's digest, or false for anything
// else.
func parseBearer(h string) ([]byte, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	cred = strings.TrimSpace(cred)
	v, ok := strings.CutPrefix(cred, tokenPrefix)
	if !ok {
		return nil, false
	}
	raw, ok := parseToken(v)
	if !ok {
		return nil, false
	}
	return digest(raw), true
}

// tokenOf is the request's API token; set on every authenticated route.
func tokenOf(c *fiber.Ctx) *data.APIToken {
	t, _ := c.Locals(tokenKey).(*data.APIToken)
	return t
}

// authenticate lets a request on only with a usable token holding scope
// (any usable token when scope is empty), answering as RFC 6750 asks: 401
// with a Bearer challenge for a missing or bad token, 403 naming the scope
// for a token without it.
func (a *admin) authenticate(scope data.Scope, h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		const realm = `Bearer realm="statusd admin API"`
		header := c.Get(fiber.HeaderAuthorization)
		if header == "" {
			c.Set(fiber.HeaderWWWAuthenticate, realm)
			return fiber.NewError(fiber.StatusUnauthorized, "this endpoint needs an API token: send Authorization: Bearer sdt_…")
		}
		invalid := func() error {
			c.Set(fiber.HeaderWWWAuthenticate, realm+`, error="invalid_token"`)
			return fiber.NewError(fiber.StatusUnauthorized, "the API token is not valid: it may be mistyped, revoked, or its owner disabled")
		}
		hash, ok := parseBearer(header)
		if !ok {
			return invalid()
		}
		ctx, cancel := bound(c)
		defer cancel()
		t, err := a.store.APITokenByHash(ctx, hash)
		if errors.Is(err, data.ErrNotFound) {
			return invalid()
		}
		if err != nil {
			return err
		}
		if t.Revoked() || t.User.Disabled() {
			return invalid()
		}
		if scope != "" && !tokenAllows(t, scope) {
			c.Set(fiber.HeaderWWWAuthenticate, realm+`, error="insufficient_scope", scope="`+string(scope)+`"`)
			msg := "this token lacks the " + string(scope) + " scope"
			if t.Has(scope) {
				msg = "the " + string(scope) + " scope is beyond its owner's current role (" + string(t.User.Role) + ")"
			}
			return fiber.NewError(fiber.StatusForbidden, msg)
		}
		now := a.now()
		if now.Sub(t.LastUsedAt) >= touchEvery {
			if err := a.store.TouchAPIToken(ctx, t.ID, a.clientIP(c), now); err != nil {
				a.log.Warn("record API token use", "token", t.ID, "err", err)
			}
		}
		c.Locals(tokenKey, &t)
		return h(c)
	}
}

// apiActor is how an API caller appears in the audit log: the token's owner
// and the token.
func apiActor(c *fiber.Ctx) string {
	t := tokenOf(c)
	return t.User.Email + " (token " + t.ID + ")"
}
