package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/notifier"
)

// SubscriptionStore is what the subscribe flow reads and writes.
// *data.Store satisfies it.
type SubscriptionStore interface {
	RequestSubscription(ctx context.Context, n data.NewSubscriber, ttl time.Duration) (data.SubscribeResult, error)
	PendingSubscriber(ctx context.Context, token string) (data.Subscriber, error)
	ConfirmSubscriber(ctx context.Context, token string) (data.Subscriber, error)
	SubscriberByToken(ctx context.Context, token string) (data.Subscriber, error)
	UpdateSubscription(ctx context.Context, token string, components, journeys []string) (data.Subscriber, error)
	Unsubscribe(ctx context.Context, token string) error
	RotateWebhookSecret(ctx context.Context, token string, overlap time.Duration) (data.Subscriber, error)
}

var _ SubscriptionStore = (*data.Store)(nil)

// TransactionalMailer sends the mails of the subscribe flow (confirmation
// links). *notifier.Engine satisfies it.
type TransactionalMailer interface {
	SendTransactional(m notifier.Transactional) error
}

var _ TransactionalMailer = (*notifier.Engine)(nil)

// SubscribeOptions turn on the public subscribe flow. Zero values take the
// defaults noted.
type SubscribeOptions struct {
	Store  SubscriptionStore
	Mailer TransactionalMailer
	// ValidateWebhookURL checks and normalises a webhook URL (see
	// notifier.Allowlist.ValidateURL); nil refuses webhooks.
	ValidateWebhookURL func(ctx context.Context, raw string) (string, error)
	ConfirmTTL         time.Duration // how long a confirmation link works; 48h
	SecretOverlap      time.Duration // how long a rotated secret keeps signing; 24h
	// Requests per IP address per hour to the subscribe flow's POSTs; 20.
	PerIP int
	// Confirmation mails per address (or webhook URL) per hour; 3.
	PerAddress int
}

func (o *SubscribeOptions) defaults() {
	if o.ConfirmTTL <= 0 {
		o.ConfirmTTL = 48 * time.Hour
	}
	if o.SecretOverlap <= 0 {
		o.SecretOverlap = 24 * time.Hour
	}
	if o.PerIP <= 0 {
		o.PerIP = 20
	}
	if o.PerAddress <= 0 {
		o.PerAddress = 3
	}
}

// subscribeState is the subscribe flow's part of the Server.
type subscribeState struct {
	enabled bool
	o       SubscribeOptions
	perIP   *rateLimiter
	perAddr *rateLimiter
	model   atomic.Pointer[model] // the last model rendered, for the forms
}

// subscribeRoutes registers the subscribe flow when it is configured. GET
// /subscribe is a prebuilt document in the snapshot; the rest act on a
// token or a form and are answered per request, never cached.
func (s *Server) subscribeRoutes(app *fiber.App) {
	if !s.subs.enabled {
		return
	}
	app.Post("/subscribe", s.limitIP, s.postSubscribe)
	app.Get("/subscribe/confirm", s.getConfirm)
	app.Post("/subscribe/confirm", s.limitIP, s.postConfirm)
	app.Get("/subscribe/manage", s.getManage)
	app.Post("/subscribe/manage", s.limitIP, s.postManage)
	app.Post("/subscribe/rotate", s.limitIP, s.postRotate)
	app.Get("/unsubscribe", s.getUnsubscribe)
	app.Post("/unsubscribe", s.limitIP, s.postUnsubscribe)
}

func newSubscribeState(o *SubscribeOptions) *subscribeState {
	if o == nil || o.Store == nil {
		return &subscribeState{}
	}
	o.defaults()
	return &subscribeState{enabled: true, o: *o, perIP: newRateLimiter(o.PerIP, time.Hour), perAddr: newRateLimiter(o.PerAddress, time.Hour)}
}

// subscribeRequest is the input of POST /subscribe, from a form or JSON.
type subscribeRequest struct {
	Email      string   `json:"email"`
	WebhookURL string   `json:"webhook_url"`
	Format     string   `json:"format"`
	Components []string `json:"components"`
	Journeys   []string `json:"journeys"`
}

// maxField bounds any single parameter; longer ones are refused before any
// other check.
const maxField = 4096

// parseSubscribeRequest reads POST /subscribe's parameters: JSON when the
// body is JSON, the form otherwise. Components and journeys may repeat
// ("component=a&component=b") or be comma-separated ("components=a,b").
// Every value is checked for size and control characters here; the domain
// checks follow in data.
func parseSubscribeRequest(contentType string, body []byte, form func(key string) []string) (subscribeRequest, error) {
	var r subscribeRequest
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/json") {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return r, data.Invalid("", "the request body is not valid JSON for this endpoint")
		}
		if dec.More() {
			return r, data.Invalid("", "the request body holds more than one JSON value")
		}
	} else {
		one := func(k string) (string, error) {
			v := form(k)
			if len(v) > 1 {
				return "", data.Invalid(k, "was given more than once")
			}
			if len(v) == 0 {
				return "", nil
			}
			return v[0], nil
		}
		var err error
		if r.Email, err = one("email"); err != nil {
			return r, err
		}
		if r.WebhookURL, err = one("webhook_url"); err != nil {
			return r, err
		}
		if r.Format, err = one("format"); err != nil {
			return r, err
		}
		r.Components = splitIDs(append(form("component"), form("components")...))
		r.Journeys = splitIDs(append(form("journey"), form("journeys")...))
	}
	for field, v := range map[string]string{"email": r.Email, "webhook_url": r.WebhookURL, "format": r.Format} {
		if err := checkField(field, v); err != nil {
			return r, err
		}
	}
	if len(r.Components)+len(r.Journeys) > 500 {
		return r, data.Invalid("components", "at most 500 components and journeys")
	}
	for _, id := range append(append([]string{}, r.Components...), r.Journeys...) {
		if err := checkField("components", id); err != nil {
			return r, err
		}
	}
	r.Email = strings.TrimSpace(r.Email)
	r.WebhookURL = strings.TrimSpace(r.WebhookURL)
	return r, nil
}

// checkField refuses oversized values, invalid UTF-8 and control characters
// (CR/LF header injection) in any parameter.
func checkField(field, v string) error {
	if len(v) > maxField {
		return data.Invalid(field, "is too long")
	}
	if !utf8.ValidString(v) {
		return data.Invalid(field, "must be valid UTF-8")
	}
	for _, c := range v {
		if c < ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029' {
			return data.Invalid(field, "must not contain control characters or line breaks")
		}
	}
	return nil
}

func splitIDs(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// answerJSON reports whether the subscribe flow answers c with JSON: it
// sent JSON, or accepts it.
func answerJSON(c *fiber.Ctx) bool {
	return strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), "application/json") || wantsJSON(c)
}

// privateHeaders mark a response of the subscribe flow: never cached or
// indexed, and no Referer leaves a page whose URL holds a token.
func privateHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set("X-Robots-Tag", "noindex")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
}

// pendingMessage is the answer to every valid subscription request, whatever
// the address's state: nobody learns from it whether an address is
// subscribed.
const pendingMessage = "If the address can receive mail, a message with a confirmation link is on its way. Nothing is sent until the link is used."

func (s *Server) postSubscribe(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := parseSubscribeRequest(c.Get(fiber.HeaderContentType), c.Body(), func(k string) []string {
		var out []string
		for _, v := range c.Context().PostArgs().PeekMulti(k) {
			out = append(out, string(v))
		}
		return out
	})
	if err == nil {
		err = s.subscribe(ctx, s.clientIP(c), req)
	}
	if err != nil {
		var inv *data.InvalidError
		if !errors.As(err, &inv) {
			return err
		}
		if answerJSON(c) {
			return c.Status(http.StatusBadRequest).JSON(apiError{Field: inv.Field, Message: inv.Reason})
		}
		return s.renderSubscribeForm(c, http.StatusBadRequest, req, inv)
	}
	if answerJSON(c) {
		return c.Status(http.StatusAccepted).JSON(map[string]string{"status": "pending", "message": pendingMessage})
	}
	return s.renderMessage(c, http.StatusOK, "Check your inbox", &subscribeView{
		Heading: "Check your inbox",
		Intro:   []string{pendingMessage, "The link works once and expires in " + humanHours(s.subs.o.ConfirmTTL) + "."},
		Links:   []Link{{Name: "Back to the status page", URL: "/"}},
	})
}

// subscribe validates and records a request and queues the right mail.
// Every valid request ends the same way for the caller.
func (s *Server) subscribe(ctx context.Context, ip string, req subscribeRequest) error {
	n := data.NewSubscriber{Channel: data.ChannelEmail, Email: req.Email, Format: data.WebhookFormat(req.Format),
		Components: req.Components, Journeys: req.Journeys}
	if req.WebhookURL != "" {
		n.Channel = data.ChannelWebhook
		if _, err := data.NormalizeAddress("email", req.Email); err != nil {
			return err // before any lookup of the URL's host
		}
		if s.subs.o.ValidateWebhookURL == nil {
			return data.Invalid("webhook_url", "webhook subscriptions are not available on this page")
		}
		u, err := s.subs.o.ValidateWebhookURL(ctx, req.WebhookURL)
		if err != nil {
			return err
		}
		n.URL = u
	}
	if err := n.Validate(); err != nil {
		return err
	}
	key := strings.ToLower(n.Email)
	if n.Channel == data.ChannelWebhook {
		key = n.URL
	}
	res, err := s.subs.o.Store.RequestSubscription(ctx, n, s.subs.o.ConfirmTTL)
	if err != nil {
		return err
	}
	// Past the per-address limit the answer is the same, but no mail goes
	// out: a form cannot be used to flood someone's inbox.
	if !s.subs.perAddr.allow(key) {
		s.log.Info("subscription mail withheld: too many requests for one address", "subscriber", res.Subscriber.ID)
		return nil
	}
	s.queueSubscribeMail(res)
	return nil
}

func (s *Server) queueSubscribeMail(res data.SubscribeResult) {
	if s.subs.o.Mailer == nil {
		return
	}
	p := s.opts.Page
	sub := res.Subscriber
	what := "status updates from " + p.Name
	if sub.Channel == data.ChannelWebhook {
		what = "status updates from " + p.Name + " to the webhook at " + redactedURL(sub.URL)
	}
	var m notifier.Transactional
	switch {
	case res.ConfirmToken != "":
		m = notifier.Transactional{To: sub.Email, Subject: "Confirm your subscription",
			Heading: "Confirm your subscription",
			Paragraphs: []string{
				"Someone, hopefully you, asked to receive " + what + ".",
				"Use the link below to confirm. It works once and expires in " + humanHours(s.subs.o.ConfirmTTL) + ".",
				"If it was not you, ignore this message: nothing will be sent.",
			},
			LinkURL:  p.URL + "/subscribe/confirm?token=" + url.QueryEscape(res.ConfirmToken),
			LinkText: "Confirm the subscription",
			Footer:   "You receive this because this address was entered at " + p.URL + "/subscribe."}
	case res.AlreadyConfirmed:
		m = notifier.Transactional{To: sub.Email, Subject: "You are already subscribed",
			Heading: "You are already subscribed",
			Paragraphs: []string{
				"Someone, hopefully you, asked again to receive " + what + ". You already receive them, so nothing changed.",
				"To choose what you hear about or to unsubscribe, use the link below.",
			},
			LinkURL:  p.URL + "/subscribe/manage?token=" + url.QueryEscape(sub.ManageToken),
			LinkText: "Manage your subscription",
			Footer:   "You receive this because this address was entered at " + p.URL + "/subscribe."}
	default:
		return
	}
	if err := s.subs.o.Mailer.SendTransactional(m); err != nil {
		s.log.Warn("queue subscription mail", "subscriber", sub.ID, "err", err)
	}
}

func (s *Server) token(c *fiber.Ctx) string {
	if t := c.FormValue("token"); t != "" {
		return t
	}
	return c.Query("token")
}

// badLink answers a token that is malformed, forged, used or expired.
func (s *Server) badLink(c *fiber.Ctx, err error) error {
	var inv *data.InvalidError
	if !errors.As(err, &inv) {
		return err
	}
	if answerJSON(c) {
		return c.Status(http.StatusBadRequest).JSON(apiError{Field: inv.Field, Message: inv.Reason})
	}
	return s.renderMessage(c, http.StatusBadRequest, "This link does not work", &subscribeView{
		Failed:  true,
		Heading: "This link does not work",
		Intro: []string{"It may have expired or been used already, or it was copied only in part.",
			"To subscribe, start again from the subscribe page; to change a subscription, use the link in the latest message you received."},
		Links: []Link{{Name: "Subscribe", URL: "/subscribe"}, {Name: "Back to the status page", URL: "/"}},
	})
}

func (s *Server) getConfirm(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok := c.Query("token")
	sub, err := s.subs.o.Store.PendingSubscriber(ctx, tok)
	if err != nil {
		return s.badLink(c, err)
	}
	// A GET never confirms: mail scanners follow links.
	return s.renderMessage(c, http.StatusOK, "Confirm your subscription", &subscribeView{
		Heading: "Confirm your subscription",
		Intro:   []string{"You are about to receive " + s.describe(sub) + "."},
		Extra: []subscribeAction{{Heading: "Confirm", Action: "/subscribe/confirm", Token: tok, Label: "Confirm the subscription",
			Paragraphs: []string{"Nothing is sent until you confirm."}}},
	})
}

func (s *Server) postConfirm(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, err := s.subs.o.Store.ConfirmSubscriber(ctx, s.token(c))
	if err != nil {
		return s.badLink(c, err)
	}
	if answerJSON(c) {
		out := map[string]string{"status": "confirmed"}
		if sub.Secret != "" {
			out["secret"] = sub.Secret
		}
		return c.JSON(out)
	}
	v := &subscribeView{Heading: "You are subscribed", Secret: sub.Secret,
		Intro: []string{"You will receive " + s.describe(sub) + ".",
			"Every message has a link to change what you receive or to unsubscribe."},
		Links: []Link{{Name: "Manage this subscription", URL: "/subscribe/manage?token=" + url.QueryEscape(sub.ManageToken)},
			{Name: "Back to the status page", URL: "/"}}}
	return s.renderMessage(c, http.StatusOK, "You are subscribed", v)
}

func (s *Server) getManage(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok := c.Query("token")
	sub, err := s.subs.o.Store.SubscriberByToken(ctx, tok)
	if err != nil {
		return s.badLink(c, err)
	}
	return s.renderManage(c, http.StatusOK, tok, sub, nil, "")
}

func (s *Server) renderManage(c *fiber.Ctx, status int, tok string, sub data.Subscriber, inv *data.InvalidError, saved string) error {
	v := &subscribeView{Heading: "Your subscription", Manage: true, Token: tok, Action: "/subscribe/manage", Submit: "Save",
		Intro: []string{"You receive " + s.describe(sub) + "."}}
	if saved != "" {
		v.Intro = append([]string{saved}, v.Intro...)
	}
	v.setErrors(inv)
	v.Journeys = s.scopeTree(sub.Components, sub.Journeys)
	if sub.Channel == data.ChannelWebhook && sub.Confirmed() {
		v.Extra = append(v.Extra, subscribeAction{Heading: "Signing secret", Action: "/subscribe/rotate", Token: tok, Label: "Make a new secret",
			Paragraphs: []string{"A new secret is shown once. The current one keeps signing alongside it for " +
				humanHours(s.subs.o.SecretOverlap) + ", so you can switch without missing a message."}})
	}
	v.Extra = append(v.Extra, subscribeAction{Heading: "Unsubscribe", Action: "/unsubscribe", Token: tok, Label: "Unsubscribe", Danger: true,
		Paragraphs: []string{"Stop all messages from " + s.opts.Page.Name + " to this " + channelNoun(sub) + "."}})
	return s.renderSubscribePage(c, status, "Your subscription", "subscribe.html", v)
}

func (s *Server) postManage(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok := s.token(c)
	var comps, journeys []string
	for _, v := range c.Context().PostArgs().PeekMulti("component") {
		comps = append(comps, string(v))
	}
	for _, v := range c.Context().PostArgs().PeekMulti("journey") {
		journeys = append(journeys, string(v))
	}
	for _, id := range append(append([]string{}, comps...), journeys...) {
		if err := checkField("components", id); err != nil {
			return s.badLink(c, data.Invalid("token", "bad request"))
		}
	}
	sub, err := s.subs.o.Store.UpdateSubscription(ctx, tok, comps, journeys)
	if err != nil {
		var inv *data.InvalidError
		if errors.As(err, &inv) && inv.Field != "token" {
			cur, lerr := s.subs.o.Store.SubscriberByToken(ctx, tok)
			if lerr != nil {
				return s.badLink(c, lerr)
			}
			return s.renderManage(c, http.StatusBadRequest, tok, cur, inv, "")
		}
		return s.badLink(c, err)
	}
	return s.renderManage(c, http.StatusOK, tok, sub, nil, "Saved.")
}

func (s *Server) postRotate(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok := s.token(c)
	sub, err := s.subs.o.Store.RotateWebhookSecret(ctx, tok, s.subs.o.SecretOverlap)
	if err != nil {
		return s.badLink(c, err)
	}
	if answerJSON(c) {
		return c.JSON(map[string]string{"status": "rotated", "secret": sub.Secret})
	}
	return s.renderMessage(c, http.StatusOK, "New signing secret", &subscribeView{Heading: "New signing secret", Secret: sub.Secret,
		Intro: []string{"Messages are now signed with the new secret, and with the previous one for " + humanHours(s.subs.o.SecretOverlap) + "."},
		Links: []Link{{Name: "Manage this subscription", URL: "/subscribe/manage?token=" + url.QueryEscape(tok)}}})
}

func (s *Server) getUnsubscribe(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok := c.Query("token")
	sub, err := s.subs.o.Store.SubscriberByToken(ctx, tok)
	if err != nil {
		return s.badLink(c, err)
	}
	// A GET only asks: mail scanners follow links, people press buttons.
	return s.renderMessage(c, http.StatusOK, "Unsubscribe", &subscribeView{
		Heading: "Unsubscribe?",
		Intro:   []string{"You receive " + s.describe(sub) + "."},
		Extra: []subscribeAction{{Heading: "Stop all messages", Action: "/unsubscribe", Token: tok, Label: "Unsubscribe", Danger: true,
			Paragraphs: []string{"You can subscribe again at any time."}}},
		Links: []Link{{Name: "Change what you receive instead", URL: "/subscribe/manage?token=" + url.QueryEscape(tok)}},
	})
}

// postUnsubscribe unsubscribes by the token in the form or, for RFC 8058
// one-click from a mail client (body "List-Unsubscribe=One-Click"), in the
// URL.
func (s *Server) postUnsubscribe(c *fiber.Ctx) error {
	privateHeaders(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.subs.o.Store.Unsubscribe(ctx, s.token(c)); err != nil {
		return s.badLink(c, err)
	}
	if answerJSON(c) || c.FormValue("List-Unsubscribe") == "One-Click" {
		if c.FormValue("List-Unsubscribe") == "One-Click" {
			return c.SendString("unsubscribed\n")
		}
		return c.JSON(map[string]string{"status": "unsubscribed"})
	}
	return s.renderMessage(c, http.StatusOK, "You are unsubscribed", &subscribeView{Heading: "You are unsubscribed",
		Intro: []string{"No more messages will be sent. Messages already on their way may still arrive."},
		Links: []Link{{Name: "Subscribe again", URL: "/subscribe"}, {Name: "Back to the status page", URL: "/"}}})
}

// describe says what a subscriber receives, in words.
func (s *Server) describe(sub data.Subscriber) string {
	what := "every incident and maintenance notice from " + s.opts.Page.Name
	if !sub.All() {
		names := s.scopeNames(sub.Components, sub.Journeys)
		what = "incident and maintenance notices from " + s.opts.Page.Name + " about " + strings.Join(names, ", ")
	}
	if sub.Channel == data.ChannelWebhook {
		return what + " at the webhook " + redactedURL(sub.URL) + " (" + formatName(sub.Format) + ")"
	}
	return what + " by email at " + sub.Email
}

func channelNoun(sub data.Subscriber) string {
	if sub.Channel == data.ChannelWebhook {
		return "webhook"
	}
	return "address"
}

func formatName(f data.WebhookFormat) string {
	switch f {
	case data.FormatSlack:
		return "Slack"
	case data.FormatTeams:
		return "Microsoft Teams"
	}
	return "Statuspage-compatible JSON"
}

// redactedURL shows a webhook URL's scheme and host only: Slack and Teams
// URLs carry their secret in the path.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func humanHours(d time.Duration) string {
	h := int(d.Round(time.Hour) / time.Hour)
	switch {
	case h%24 == 0 && h >= 48:
		return fmt.Sprintf("%d days", h/24)
	case h == 1:
		return "an hour"
	case h < 1:
		return d.String()
	}
	return fmt.Sprintf("%d hours", h)
}

// formProblem is one problem with the form.
type formProblem struct{ Field, Message string }

// subscribeView is what subscribe.html and subscribe_message.html show.
type subscribeView struct {
	Heading, Submit, Action, Token string
	Intro                          []string
	Failed                         bool
	Manage                         bool // the preferences form: no address fields
	Email, WebhookURL, Format      string
	Errors                         []formProblem
	FieldErrors                    map[string]string
	Journeys                       []scopeJourney
	Extra                          []subscribeAction
	Feeds                          []feedLink
	Secret                         string
	Links                          []Link
}

func (v *subscribeView) setErrors(inv *data.InvalidError) {
	if inv == nil {
		return
	}
	field := inv.Field
	switch field {
	case "email", "webhook_url", "components":
	case "journeys":
		field = "components"
	case "format":
		field = "webhook_url"
	default:
		field = "email"
	}
	v.Errors = []formProblem{{Field: field, Message: fieldLabel(inv.Field) + " " + inv.Reason}}
	v.FieldErrors = map[string]string{field: fieldLabel(inv.Field) + " " + inv.Reason}
}

func fieldLabel(f string) string {
	switch f {
	case "email":
		return "The email address"
	case "webhook_url":
		return "The webhook URL"
	case "format":
		return "The message format"
	case "components", "journeys":
		return "The choice of components:"
	}
	return "The request"
}

type subscribeAction struct {
	Heading, Action, Token, Label string
	Paragraphs                    []string
	Danger                        bool
}

type scopeJourney struct {
	ID, Name   string
	Checked    bool
	Components []scopeComponent
}

type scopeComponent struct {
	ID, Name string
	Checked  bool
	Children []scopeComponent
}

type feedLink struct{ Name, RSS, Atom string }

// subscribePage is the view of the subscribe templates: the shared page
// view (layout, site, assets) and the flow's own part.
type subscribePage struct {
	*pageView
	Sub *subscribeView
}

// scopeTree lays the catalog out as checkboxes, ticking the given ids.
func (s *Server) scopeTree(components, journeys []string) []scopeJourney {
	m := s.subs.model.Load()
	if m == nil {
		return nil
	}
	on := map[string]bool{}
	for _, id := range components {
		on["c:"+id] = true
	}
	for _, id := range journeys {
		on["j:"+id] = true
	}
	byGroup := map[string][]data.Component{}
	for _, c := range m.snap.Components {
		if c.GroupID != "" {
			byGroup[c.GroupID] = append(byGroup[c.GroupID], c)
		}
	}
	var out []scopeJourney
	for _, j := range m.snap.Journeys {
		sj := scopeJourney{ID: j.ID, Name: j.Name, Checked: on["j:"+j.ID]}
		for _, c := range m.snap.Components {
			if c.JourneyID != j.ID || c.GroupID != "" {
				continue
			}
			sc := scopeComponent{ID: c.ID, Name: c.Name, Checked: on["c:"+c.ID]}
			for _, ch := range byGroup[c.ID] {
				sc.Children = append(sc.Children, scopeComponent{ID: ch.ID, Name: ch.Name, Checked: on["c:"+ch.ID]})
			}
			sj.Components = append(sj.Components, sc)
		}
		out = append(out, sj)
	}
	return out
}

func (s *Server) scopeNames(components, journeys []string) []string {
	m := s.subs.model.Load()
	var names []string
	jn := map[string]string{}
	if m != nil {
		for _, j := range m.snap.Journeys {
			jn[j.ID] = j.Name
		}
	}
	for _, id := range journeys {
		if n := jn[id]; n != "" {
			names = append(names, n+" (journey)")
		} else {
			names = append(names, id)
		}
	}
	for _, id := range components {
		if m != nil && m.names[id] != "" {
			names = append(names, m.names[id])
		} else {
			names = append(names, id)
		}
	}
	return names
}

// subscribeDocs renders GET /subscribe into the snapshot and keeps the model
// for the per-request pages of the flow.
func (s *Server) subscribeDocs(m *model, prev *snapshot) ([]doc, error) {
	s.subs.model.Store(m)
	if !s.subs.enabled {
		return nil, nil
	}
	// The form shows the page's chrome (pageKey) and the catalog's shape:
	// journeys, components and groups by name, in order. Statuses are not
	// on it, so a status change does not render it again.
	k := newKeyHash().str("subscribe").u64(m.pageKey)
	for _, j := range m.snap.Journeys {
		k.str(j.ID).str(j.Name)
	}
	for _, c := range m.snap.Components {
		k.str(c.ID).str(c.JourneyID).str(c.GroupID)
	}
	key := k.sum()
	if e := prev.reusable("/subscribe", key); e != nil {
		return []doc{{path: "/subscribe", reuse: e}}, nil
	}
	v := s.subscribeFormView(subscribeRequest{Format: "statuspage"})
	b, err := s.renderSubscribeBytes(m, "Subscribe", "subscribe.html", v)
	if err != nil {
		return nil, err
	}
	return []doc{{path: "/subscribe", kind: kindHTML, contentType: "text/html; charset=utf-8", body: b, tags: []string{"subscribe"}, key: key}}, nil
}

func (s *Server) subscribeFormView(req subscribeRequest) *subscribeView {
	v := &subscribeView{Heading: "Subscribe to updates", Action: "/subscribe", Submit: "Subscribe",
		Intro: []string{"Get incident and maintenance notices from " + s.opts.Page.Name + " by email, or at a webhook for your own tools, Slack or Microsoft Teams.",
			"We send a confirmation link first; nothing else is sent until it is used. Every message has a link to change what you receive or to unsubscribe."},
		Email: req.Email, WebhookURL: req.WebhookURL, Format: req.Format}
	if v.Format == "" {
		v.Format = "statuspage"
	}
	v.Journeys = s.scopeTree(req.Components, req.Journeys)
	if m := s.subs.model.Load(); m != nil {
		for _, j := range m.snap.Journeys {
			v.Feeds = append(v.Feeds, feedLink{Name: j.Name, RSS: "/feeds/journey/" + j.ID + ".rss", Atom: "/feeds/journey/" + j.ID + ".atom"})
		}
		for _, c := range m.snap.Components {
			v.Feeds = append(v.Feeds, feedLink{Name: c.Name, RSS: "/feeds/component/" + c.ID + ".rss", Atom: "/feeds/component/" + c.ID + ".atom"})
		}
	}
	return v
}

func (s *Server) renderSubscribeForm(c *fiber.Ctx, status int, req subscribeRequest, inv *data.InvalidError) error {
	// Echo only what is safe to put back in the form.
	if checkField("email", req.Email) != nil || len(req.Email) > 254 {
		req.Email = ""
	}
	if checkField("webhook_url", req.WebhookURL) != nil || len(req.WebhookURL) > 2048 {
		req.WebhookURL = ""
	}
	if _, err := data.ParseWebhookFormat(req.Format); err != nil {
		req.Format = ""
	}
	v := s.subscribeFormView(req)
	v.setErrors(inv)
	return s.renderSubscribePage(c, status, "Subscribe", "subscribe.html", v)
}

func (s *Server) renderMessage(c *fiber.Ctx, status int, title string, v *subscribeView) error {
	return s.renderSubscribePage(c, status, title, "subscribe_message.html", v)
}

func (s *Server) renderSubscribePage(c *fiber.Ctx, status int, title, tmpl string, v *subscribeView) error {
	m := s.subs.model.Load()
	if m == nil {
		return fiber.ErrServiceUnavailable
	}
	b, err := s.renderSubscribeBytes(m, title, tmpl, v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Status(status).Send(b)
}

func (s *Server) renderSubscribeBytes(m *model, title, tmpl string, v *subscribeView) ([]byte, error) {
	pv := s.basePage(m, "/subscribe", title+" · "+m.page.Name+" status", false)
	var buf strings.Builder
	if err := s.tmpl.ExecuteTemplate(&buf, tmpl, subscribePage{pageView: pv, Sub: v}); err != nil {
		return nil, fmt.Errorf("render %s: %w", tmpl, err)
	}
	return []byte(buf.String()), nil
}

// limitIP applies the per-IP limit to the subscribe flow's POSTs: per
// client address, seen through trusted proxies (clientip.go).
func (s *Server) limitIP(c *fiber.Ctx) error {
	if !s.subs.perIP.allow(limitKey(s.clientIP(c))) {
		privateHeaders(c)
		c.Set(fiber.HeaderRetryAfter, "3600")
		if answerJSON(c) {
			return c.Status(http.StatusTooManyRequests).JSON(apiError{Message: "too many requests; try again later"})
		}
		return s.renderMessage(c, http.StatusTooManyRequests, "Too many requests", &subscribeView{Failed: true,
			Heading: "Too many requests", Intro: []string{"Too many requests came from your network. Try again in an hour."},
			Links: []Link{{Name: "Back to the status page", URL: "/"}}})
	}
	return c.Next()
}
