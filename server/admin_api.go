package server

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// apiRoute is one admin API endpoint. The table of them is the single
// source of the fiber routes and of the OpenAPI document.
type apiRoute struct {
	Method  string
	Path    string     // OpenAPI template below /api/admin, e.g. /tokens/{id}
	Scope   data.Scope // needed; "" for any valid token
	Public  bool       // no token needed (the OpenAPI document itself)
	Summary string
	Params  []apiParam
	Request any // a value of the JSON body's type; nil for none
	// Response is a value of the success body's type; Status its code.
	Response   any
	Status     int
	Idempotent bool // a create that honours Idempotency-Key
	// RequestMedia and ResponseMedia are the bodies' media types when not
	// application/json (text/csv); Request and Response then hold "".
	RequestMedia, ResponseMedia string
	Handler                     fiber.Handler
	// OwnAuth: the handler checks the bearer token itself (SLO pushes
	// also take tokens from the configuration).
	OwnAuth bool
}

type apiParam struct {
	Name, In, Description string // In: path or query
	Type                  string // string, integer
	Format                string // date-time…
}

func (r apiRoute) fiberPath() string {
	p := r.Path
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i:], '}')
		p = p[:i] + ":" + p[i+1:i+j] + p[i+j+1:]
	}
	return "/api/admin" + p
}

// The API's JSON shapes. Times are RFC 3339 in UTC.

type apiTokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Owner      string     `json:"owner"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	LastUsedIP string     `json:"last_used_ip,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

type apiTokenCreate struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

type apiTokenCreated struct {
	Token apiTokenJSON `json:"token"`
	// Secret is the bearer token. It is shown in this response only.
	Secret string `json:"secret"`
}

type apiTokenList struct {
	Tokens []apiTokenJSON `json:"tokens"`
}

type apiAuditEntry struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Detail  string          `json:"detail,omitempty"`
	Before  json.RawMessage `json:"before" openapi:"any"`
	After   json.RawMessage `json:"after" openapi:"any"`
}

type apiAuditPage struct {
	Entries []apiAuditEntry `json:"entries"`
	// NextBeforeID pages on: pass it as before_id for older entries; 0 at
	// the end.
	NextBeforeID int64 `json:"next_before_id"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func tokenJSON(t data.APIToken) apiTokenJSON {
	j := apiTokenJSON{ID: t.ID, Name: t.Name, Owner: t.User.Email, Scopes: []string{}, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: timePtr(t.LastUsedAt), LastUsedIP: t.LastUsedIP, RevokedAt: timePtr(t.RevokedAt)}
	for _, sc := range t.Scopes {
		j.Scopes = append(j.Scopes, string(sc))
	}
	return j
}

func (a *admin) apiRoutes() {
	a.api = []apiRoute{
		{Method: "GET", Path: "/openapi.json", Public: true, Summary: "This document (OpenAPI 3.1)", Response: map[string]any{}, Status: 200,
			Handler: a.openAPI},
		{Method: "GET", Path: "/token", Summary: "The calling token: its owner, scopes and last use", Response: apiTokenJSON{}, Status: 200,
			Handler: a.apiSelf},
		{Method: "GET", Path: "/audit", Scope: data.ScopeAuditRead, Summary: "Audit log entries, newest first, filtered",
			Params: []apiParam{
				{Name: "actor", In: "query", Type: "string", Description: "who (an email; also finds their tokens' actions)"},
				{Name: "action", In: "query", Type: "string", Description: "exact action, or a prefix ending in * (user.*)"},
				{Name: "subject", In: "query", Type: "string", Description: "what was acted on"},
				{Name: "since", In: "query", Type: "string", Format: "date-time", Description: "from this time, inclusive (RFC 3339)"},
				{Name: "until", In: "query", Type: "string", Format: "date-time", Description: "up to this time, exclusive (RFC 3339)"},
				{Name: "before_id", In: "query", Type: "integer", Description: "only entries older than this id (paging)"},
				{Name: "limit", In: "query", Type: "integer", Description: "1–500, default 100"},
			},
			Response: apiAuditPage{}, Status: 200, Handler: a.apiAudit},
		{Method: "GET", Path: "/tokens", Scope: data.ScopeTokensWrite, Summary: "Every API token, with its last use",
			Response: apiTokenList{}, Status: 200, Handler: a.apiTokens},
		{Method: "POST", Path: "/tokens", Scope: data.ScopeTokensWrite, Summary: "Create a token with at most the caller's scopes; its secret is in this response only",
			Request: apiTokenCreate{}, Response: apiTokenCreated{}, Status: 201, Idempotent: true, Handler: a.apiCreateToken},
		{Method: "DELETE", Path: "/tokens/{id}", Scope: data.ScopeTokensWrite, Summary: "Revoke a token",
			Params:   []apiParam{{Name: "id", In: "path", Type: "string", Description: "token id (tok_…)"}},
			Response: apiTokenJSON{}, Status: 200, Handler: a.apiRevokeToken},
	}
	a.api = append(a.api, a.overrideAPIRoutes()...)
	a.api = append(a.api, a.incidentAPIRoutes()...)
	a.api = append(a.api, a.subscriberAPIRoutes()...)
	if a.srv.opts.SLOPush != nil {
		a.api = append(a.api, apiRoute{Method: "POST", Path: "/slo/{id}/events", Scope: data.ScopeSLOWrite, OwnAuth: true,
			Summary: "Push good/total event counts for an SLO with source push, all applied or none. Takes an API token with slo:write, " +
				"or a push token from the configuration (the SLO's push_token, or slos_push_token)",
			Request: apiSLOPush{}, Response: apiSLOPushed{}, Status: 200, Handler: a.srv.pushSLOEvents})
	}
	for _, r := range a.api {
		h := r.Handler
		if !r.Public && !r.OwnAuth {
			h = a.authenticate(r.Scope, h)
		}
		a.app.Add(r.Method, r.fiberPath(), h)
	}
	// Anything else under /api/admin is a JSON 404 (or 405 for a known
	// path with another method), from the error handler.
	a.app.Use("/api/admin", func(c *fiber.Ctx) error {
		var allow []string
		for _, r := range a.api {
			if matchTemplate(r.Path, strings.TrimPrefix(c.Path(), "/api/admin")) {
				allow = append(allow, r.Method)
			}
		}
		if len(allow) > 0 {
			c.Set(fiber.HeaderAllow, strings.Join(allow, ", "))
			return fiber.NewError(fiber.StatusMethodNotAllowed, "use "+strings.Join(allow, " or ")+" here")
		}
		return fiber.NewError(fiber.StatusNotFound, "no such endpoint; see /api/admin/openapi.json")
	})
}

// matchTemplate reports whether path fits an OpenAPI path template.
func matchTemplate(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// decodeJSON reads a JSON request body strictly: unknown fields and
// trailing data are errors a client can act on.
func decodeJSON(c *fiber.Ctx, v any) error {
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationJSON) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "send the body as application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return data.Invalid("body", "is not valid JSON for this endpoint: %s", jsonProblem(err))
	}
	if dec.More() {
		return data.Invalid("body", "has data after the JSON value")
	}
	return nil
}

// jsonProblem says what is wrong with a body without quoting Go types.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "field " + strconv.Quote(te.Field) + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "it could not be read"
}

func (a *admin) apiSelf(c *fiber.Ctx) error {
	return c.JSON(tokenJSON(*tokenOf(c)))
}

func (a *admin) apiAudit(c *fiber.Ctx) error {
	f := data.AuditFilter{Actor: c.Query("actor"), Action: c.Query("action"), Subject: c.Query("subject")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return data.Invalid(p.name, "%q is not an RFC 3339 time like 2026-11-24T09:30:00Z", v)
			}
			*p.dst = t
		}
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before_id", &f.BeforeID}, {"limit", nil}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return data.Invalid(p.name, "%q is not a positive whole number", v)
		}
		if p.dst != nil {
			*p.dst = n
		} else if n > data.MaxAuditPage {
			return data.Invalid("limit", "must be between 1 and %d", data.MaxAuditPage)
		} else {
			f.Limit = int(n)
		}
	}
	ctx, cancel := bound(c)
	defer cancel()
	entries, err := a.store.SearchAudit(ctx, f)
	if err != nil {
		return err
	}
	page := apiAuditPage{Entries: []apiAuditEntry{}}
	for _, e := range entries {
		page.Entries = append(page.Entries, apiAuditEntry{ID: e.ID, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Subject: e.Subject,
			Detail: e.Detail, Before: rawOrNull(e.Before), After: rawOrNull(e.After)})
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(entries) == limit {
		page.NextBeforeID = entries[len(entries)-1].ID
	}
	return c.JSON(page)
}

func rawOrNull(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

func (a *admin) apiTokens(c *fiber.Ctx) error {
	ctx, cancel := bound(c)
	defer cancel()
	tokens, err := a.store.APITokens(ctx)
	if err != nil {
		return err
	}
	out := apiTokenList{Tokens: []apiTokenJSON{}}
	for _, t := range tokens {
		out.Tokens = append(out.Tokens, tokenJSON(t))
	}
	return c.JSON(out)
}

func (a *admin) apiCreateToken(c *fiber.Ctx) error {
	var req apiTokenCreate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	scopes, err := data.ParseScopes(req.Scopes)
	if err != nil {
		return err
	}
	caller := tokenOf(c)
	for _, sc := range scopes {
		if !tokenAllows(*caller, sc) {
			return fiber.NewError(fiber.StatusForbidden, "a token can only grant scopes it holds itself; this one lacks "+string(sc))
		}
	}
	secret, hash := newAPIToken()
	return a.idempotent(c, http201, func(idem *data.Idempotency) (any, error) {
		ctx, cancel := bound(c)
		defer cancel()
		t, err := a.store.CreateAPIToken(ctx, data.NewAPIToken{Name: strings.TrimSpace(req.Name), UserID: caller.User.ID, Scopes: scopes, Hash: hash,
			Actor: apiActor(c)}, idem)
		if err != nil {
			return nil, err
		}
		return apiTokenCreated{Token: tokenJSON(t), Secret: secret}, nil
	}, func(created any) any {
		return apiTokenCreated{Token: tokenJSON(created.(data.APIToken)), Secret: secret}
	})
}

const http201 = fiber.StatusCreated

func (a *admin) apiRevokeToken(c *fiber.Ctx) error {
	ctx, cancel := bound(c)
	defer cancel()
	t, err := a.store.RevokeAPIToken(ctx, c.Params("id"), apiActor(c))
	if err != nil {
		return err
	}
	return c.JSON(tokenJSON(t))
}

// --- Idempotency-Key ---

// maxIdempotencyKey bounds the header; UUIDs and ULIDs fit with room.
const maxIdempotencyKey = 255

// idempotent runs a create under the request's Idempotency-Key, if any
// (draft-ietf-httpapi-idempotency-key-header). The first request's response
// is stored with the create, in its transaction; a retry with the same key
// and the same request gets that response again (with Idempotent-Replayed:
// true) and creates nothing; the same key with a different request is 422.
//
// The stored body is sealed (AES-256-GCM) with a key derived from the
// caller's bearer token, which the store never holds: a copy of the database
// does not reveal what a create returned, such as a new token's secret.
func (a *admin) idempotent(c *fiber.Ctx, status int, create func(*data.Idempotency) (any, error), respond func(created any) any) error {
	key := c.Get("Idempotency-Key")
	if key == "" {
		v, err := create(nil)
		if err != nil {
			return err
		}
		return c.Status(status).JSON(v)
	}
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return data.Invalid("Idempotency-Key", "must be 1-%d printable ASCII characters without spaces", maxIdempotencyKey)
	}
	caller := tokenOf(c)
	sealKey, err := a.sealKey(c)
	if err != nil {
		return err
	}
	fp := sha256.New()
	for _, part := range [][]byte{[]byte(c.Method()), []byte(c.Path()), c.Body()} {
		fp.Write([]byte(strconv.Itoa(len(part)) + ":"))
		fp.Write(part)
	}
	fingerprint := fp.Sum(nil)

	replay := func() (bool, error) {
		ctx, cancel := bound(c)
		defer cancel()
		stored, err := a.store.IdempotentResponse(ctx, caller.ID, key)
		if errors.Is(err, data.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !bytes.Equal(stored.Fingerprint, fingerprint) {
			return false, fiber.NewError(fiber.StatusUnprocessableEntity, "this Idempotency-Key was used for a different request; use a new key for a new request")
		}
		body, err := open(sealKey, stored.Sealed)
		if err != nil {
			return false, err
		}
		c.Set("Idempotent-Replayed", "true")
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return true, c.Status(stored.Status).Send(body)
	}
	if done, err := replay(); done || err != nil {
		return err
	}
	idem := &data.Idempotency{TokenID: caller.ID, Key: key, Fingerprint: fingerprint, Seal: func(created any) (int, []byte, error) {
		body, err := json.Marshal(respond(created))
		if err != nil {
			return 0, nil, err
		}
		sealed, err := seal(sealKey, body)
		return status, sealed, err
	}}
	v, err := create(idem)
	if errors.Is(err, data.ErrConflict) {
		// A concurrent request with the key committed first: answer as it did.
		if done, rerr := replay(); done || rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return err
	}
	return c.Status(status).JSON(v)
}

// sealKey derives the key that seals stored responses from the caller's
// bearer secret.
func (a *admin) sealKey(c *fiber.Ctx) ([]byte, error) {
	_, cred, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	return hkdf.Key(sha256.New, []byte(strings.TrimSpace(cred)), nil, "statusd idempotent response v1", 32)
}

func seal(key, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on supported platforms
	return gcm.Seal(nonce, nonce, plain, nil), nil
}

func open(key, sealed []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("open stored response: too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
	if err != nil {
		return nil, errors.New("open stored response: it was sealed for another token")
	}
	return plain, nil
}
