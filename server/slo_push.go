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

// PushAuth decides whether a bearer token may push events for an SLO:
// authenticated says the token is known at all, allowed that it may push
// for this SLO. *slo.TokenAuth (tokens from the configuration) satisfies it;
// scoped API tokens (slo:write) can take its place.
type PushAuth interface {
	AllowPush(token, sloID string) (authenticated, allowed bool)
}

var (
	_ SLOPusher = (*slo.Engine)(nil)
	_ PushAuth  = (*slo.TokenAuth)(nil)
)

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
	authenticated, allowed := s.opts.SLOAuth.AllowPush(token, id)
	switch {
	case !authenticated:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="statusd", error="invalid_token"`)
		return c.Status(http.StatusUnauthorized).JSON(apiError{Message: "the token is not valid"})
	case !allowed:
		return c.Status(http.StatusForbidden).JSON(apiError{Message: fmt.Sprintf("the token may not push events for SLO %q", id)})
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
		return c.JSON(struct {
			Accepted int `json:"accepted"`
		}{len(evs)})
	case errors.As(err, &inv):
		return c.Status(http.StatusUnprocessableEntity).JSON(apiError{Field: inv.Field, Message: inv.Reason})
	case errors.Is(err, data.ErrNotFound):
		return c.Status(http.StatusNotFound).JSON(apiError{Message: fmt.Sprintf("no SLO %q takes pushed events", id)})
	}
	return err
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
