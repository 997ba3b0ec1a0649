package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
)

// SLOPusher takes pushed events for an SLO. *slo.Engine satisfies it.
type SLOPusher interface {
	Push(ctx context.Context, sloID string, evs []slo.Event) error
}

// PushAuth decides whether a bearer token from the configuration may push
// events for an SLO: authenticated says the token is known at all, allowed
// that it may push for this SLO. *slo.TokenAuth satisfies it. API tokens of
// the admin ("sdt_…" with the slo:write scope) are checked by the server
// itself.
type PushAuth interface {
	AllowPush(ctx context.Context, token, sloID string) (authenticated, allowed bool)
}

var (
	_ SLOPusher = (*slo.Engine)(nil)
	_ PushAuth  = (*slo.TokenAuth)(nil)
)

// apiSLOPush is the body of a push, for the OpenAPI document; the handler
// parses it with slo.ParseEvents, which also takes Unix seconds for time.
type apiSLOPush struct {
	// Events are at most 10,000 counts, each for the minute of its time.
	Events []apiSLOPushEvent `json:"events"`
}

type apiSLOPushEvent struct {
	Time  time.Time `json:"time"`
	Good  int64     `json:"good"`
	Total int64     `json:"total"`
}

// apiSLOPushed answers a push.
type apiSLOPushed struct {
	Accepted int `json:"accepted"`
}

// pushSLOEvents is POST /api/admin/slo/{id}/events: a batch of
// {time, good, total} for a pushed SLO, all applied or none, each refusal a
// 4xx with the field and the reason.
func (s *Server) pushSLOEvents(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	id := strings.Clone(c.Params("id"))
	token, ok := bearer(c.Get(fiber.HeaderAuthorization))
	if !ok {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="statusd"`)
		return c.Status(http.StatusUnauthorized).JSON(apiError{Message: "a bearer token is required (Authorization: Bearer …)"})
	}
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	authenticated, allowed, err := s.allowPush(actx, token, id)
	acancel()
	if err != nil {
		return err
	}
	switch {
	case !authenticated:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="statusd", error="invalid_token"`)
		return c.Status(http.StatusUnauthorized).JSON(apiError{Message: "the token is not valid"})
	case !allowed:
		return c.Status(http.StatusForbidden).JSON(apiError{Message: fmt.Sprintf("the token may not push events for SLO %q (it needs the slo:write scope)", id)})
	}
	if ct := c.Get(fiber.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), fiber.MIMEApplicationJSON) {
		return c.Status(http.StatusUnsupportedMediaType).JSON(apiError{Message: "send application/json"})
	}
	body := c.Body()
	if len(body) > slo.MaxPushBytes {
		return c.Status(http.StatusRequestEntityTooLarge).JSON(apiError{Field: "body",
			Message: fmt.Sprintf("is %d bytes; the limit is %d (1 MiB)", len(body), slo.MaxPushBytes)})
	}
	evs, err := slo.ParseEvents(body)
	var inv *data.InvalidError
	if errors.As(err, &inv) {
		return c.Status(http.StatusBadRequest).JSON(apiError{Field: inv.Field, Message: inv.Reason})
	}
	if err != nil {
		return err
	}
	// fasthttp does not cancel a request whose client has gone: bound it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.opts.SLOPush.Push(ctx, id, evs)
	switch {
	case err == nil:
		return c.JSON(apiSLOPushed{Accepted: len(evs)})
	case errors.As(err, &inv):
		return c.Status(http.StatusUnprocessableEntity).JSON(apiError{Field: inv.Field, Message: inv.Reason})
	case errors.Is(err, data.ErrNotFound):
		return c.Status(http.StatusNotFound).JSON(apiError{Message: fmt.Sprintf("no SLO %q takes pushed events", id)})
	}
	return err
}

// allowPush checks a push token: an admin API token with the slo:write
// scope (allowed for every SLO), or a token from the configuration.
func (s *Server) allowPush(ctx context.Context, token, sloID string) (authenticated, allowed bool, err error) {
	if strings.HasPrefix(token, tokenPrefix) && s.admin != nil {
		hash, ok := parseBearer("Bearer " + token)
		if !ok {
			return false, false, nil
		}
		t, err := s.admin.store.APITokenByHash(ctx, hash)
		switch {
		case errors.Is(err, data.ErrNotFound):
			return false, false, nil
		case err != nil:
			return false, false, err
		case t.Revoked() || t.User.Disabled():
			return false, false, nil
		}
		return true, tokenAllows(t, data.ScopeSLOWrite), nil
	}
	if s.opts.SLOAuth == nil {
		return false, false, nil
	}
	authenticated, allowed = s.opts.SLOAuth.AllowPush(ctx, token, sloID)
	return authenticated, allowed, nil
}

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return strings.Clone(tok), tok != ""
}
