package notifier

import (
	"bytes"
	"encoding/json"
	"fmt"
	htemplate "html/template"
	"net/mail"
	"net/url"
	"strings"
	ttemplate "text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/templates"
)

// Recipient is who a message goes to, with the token behind their
// preferences and unsubscribe links.
type Recipient struct {
	SubscriberID int64
	Email        string // the address the message goes to
	ManageToken  string // "" for staff, who manage nothing
}

// renderer turns notices into email messages and webhook bodies. It is safe
// for concurrent use.
type renderer struct {
	page   Page
	from   *mail.Address
	domain string // of the From address, for Message-IDs
	text   *ttemplate.Template
	html   *htemplate.Template
}

var templateFuncs = map[string]any{
	"lines": func(s string) []string { return strings.Split(s, "\n") },
}

// newRenderer parses the email templates. It fails if one is missing or
// broken, so a bad build never starts.
func newRenderer(p Page, from string) (*renderer, error) {
	if p.Location == nil {
		p.Location = time.UTC
	}
	if p.Language == "" {
		p.Language = "en"
	}
	p.URL = strings.TrimRight(p.URL, "/")
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("from address %q: %w", from, err)
	}
	r := &renderer{page: p, from: addr}
	if i := strings.LastIndexByte(addr.Address, '@'); i >= 0 {
		r.domain = addr.Address[i+1:]
	}
	if r.text, err = ttemplate.New("notice.txt").Funcs(templateFuncs).ParseFS(templates.FS, "email/notice.txt"); err != nil {
		return nil, fmt.Errorf("parse email text template: %w", err)
	}
	if r.html, err = htemplate.New("notice.html").Funcs(templateFuncs).ParseFS(templates.FS, "email/notice.html"); err != nil {
		return nil, fmt.Errorf("parse email html template: %w", err)
	}
	return r, nil
}

// emailView is what the email templates receive.
type emailView struct {
	Lang, PageName, Subject, Heading string
	Status, Impact, When             string
	Paragraphs                       []string
	Components                       []componentLine
	Reason                           string
	LinkURL, LinkText                string
	Footer                           string
	ManageURL, UnsubscribeURL        string
}

type componentLine struct{ Name, Old, New string }

func (r *renderer) manageURL(token string) string {
	if token == "" {
		return ""
	}
	return r.page.URL + "/subscribe/manage?token=" + url.QueryEscape(token)
}

func (r *renderer) unsubscribeURL(token string) string {
	if token == "" {
		return ""
	}
	return r.page.URL + "/unsubscribe?token=" + url.QueryEscape(token)
}

func (r *renderer) when(t time.Time) string {
	return t.In(r.page.Location).Format("Mon 2 Jan 2006, 15:04 MST")
}

func (r *renderer) view(n *Notice, rc Recipient) emailView {
	v := emailView{Lang: r.page.Language, PageName: r.page.Name, Subject: n.Subject(r.page),
		ManageURL: r.manageURL(rc.ManageToken), UnsubscribeURL: r.unsubscribeURL(rc.ManageToken)}
	v.Footer = fmt.Sprintf("You receive this because you subscribed to %s status updates at %s.", r.page.Name, r.page.URL)
	switch {
	case n.Incident != nil:
		in := n.Incident
		v.Heading = in.Name
		v.Status = in.Status.Label()
		if in.Kind == data.KindMaintenance {
			v.Status = "Maintenance: " + in.Status.Label()
		} else if in.Impact != "" && in.Impact != data.ImpactNone {
			v.Impact = in.Impact.Label()
		}
		switch {
		case in.Reminder > 0:
			v.When = "Starts " + r.when(in.ScheduledFor) + ", in " + humanDuration(n.untilStart())
			if !in.ScheduledUntil.IsZero() {
				v.When += "; expected to end " + r.when(in.ScheduledUntil)
			}
		case in.Kind == data.KindMaintenance && !in.ScheduledFor.IsZero():
			v.When = "Scheduled from " + r.when(in.ScheduledFor)
			if !in.ScheduledUntil.IsZero() {
				v.When += " until " + r.when(in.ScheduledUntil)
			}
		default:
			v.When = "Posted " + r.when(n.At)
		}
		v.Paragraphs = paragraphs(in.Body)
		for _, c := range in.Components {
			l := componentLine{Name: c.Name, New: c.NewStatus.Label()}
			if c.OldStatus != "" {
				l.Old = c.OldStatus.Label()
			}
			if c.NewStatus == "" {
				l.New = "affected"
			}
			v.Components = append(v.Components, l)
		}
		v.LinkURL, v.LinkText = r.page.URL+"/incidents/"+in.ID, "Follow this "+string(in.Kind)+" on the status page"
	case n.Component != nil:
		c := n.Component
		v.Heading = c.Name + " is now " + strings.ToLower(c.New.Label())
		v.Status = c.New.Label()
		v.When = "Changed " + r.when(n.At)
		v.Components = []componentLine{{Name: c.Name, Old: c.Old.Label(), New: c.New.Label()}}
		if c.Old == "" {
			v.Components[0].Old = ""
		}
		v.Reason = c.Reason
		v.LinkURL, v.LinkText = r.page.URL+"/", "See the status page"
	case n.Staff != nil:
		v.Heading = n.Staff.Headline
		v.Status = n.Staff.Status
		v.When = "At " + r.when(n.At)
		v.Paragraphs = n.Staff.Paragraphs
		v.LinkURL, v.LinkText = n.Staff.Link, n.Staff.LinkText
		if v.LinkText == "" {
			v.LinkText = "Open statusd"
		}
		v.Footer = "You receive this because this address is a staff address (notifier.staff) in " + r.page.Name + "'s statusd configuration."
	case n.Endpoint != nil && n.Endpoint.Warning:
		v.Heading = "Your webhook endpoint keeps failing"
		since := "for a while"
		if !n.Endpoint.Since.IsZero() {
			since = "since " + r.when(n.Endpoint.Since)
		}
		v.Paragraphs = []string{
			fmt.Sprintf("Status updates to %s have failed %s: %s.", n.Endpoint.URL, since, n.Endpoint.Reason),
			"We keep retrying. If deliveries still fail " + humanDuration(n.Endpoint.DisableAfter) + " after the first failure, we stop sending and disable this subscription.",
			"Check that the endpoint is up, answers promptly with a 2xx status, and accepts the signature headers.",
		}
		v.LinkURL, v.LinkText = r.page.URL+"/", "See the status page"
		v.Footer = fmt.Sprintf("You receive this because you own a webhook subscription to %s status updates.", r.page.Name)
	case n.Endpoint != nil:
		v.Heading = "Your webhook endpoint was disabled"
		v.Paragraphs = []string{
			fmt.Sprintf("We stopped sending status updates to %s: %s.", n.Endpoint.URL, n.Endpoint.Reason),
			"Fix the endpoint, then subscribe it again; its old signing secret no longer applies.",
		}
		v.LinkURL, v.LinkText = r.page.URL+"/subscribe", "Subscribe again"
		v.Footer = fmt.Sprintf("You receive this because you own a webhook subscription to %s status updates.", r.page.Name)
	}
	return v
}

// paragraphs splits text on blank lines.
func paragraphs(body string) []string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(body, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// messageID is the Message-ID for a delivery key. It is the same on every
// attempt, so a receiver (or a person) can tell a retry from a new message.
func (r *renderer) messageID(key string) string {
	return "statusd." + key + "." + r.page.ID + "@" + r.domain
}

// Transactional is a message that is not about an event: a confirmation
// link, a "you are already subscribed" note.
type Transactional struct {
	To         string
	Subject    string
	Heading    string
	Paragraphs []string
	LinkURL    string
	LinkText   string
	Footer     string
}

// transactional builds the email for m; key names its row in the mail
// outbox, so its Message-ID is the same on every attempt.
func (r *renderer) transactional(m Transactional, key string) (*gomail.Msg, error) {
	v := emailView{Lang: r.page.Language, PageName: r.page.Name, Subject: "[" + r.page.Name + "] " + m.Subject,
		Heading: m.Heading, Paragraphs: m.Paragraphs, LinkURL: m.LinkURL, LinkText: m.LinkText, Footer: m.Footer}
	msg, err := r.build(v, m.To)
	if err != nil {
		return nil, err
	}
	msg.SetMessageIDWithValue(r.messageID(key))
	return msg, nil
}

// email builds the message for one delivery of n to rc, keyed by key.
func (r *renderer) email(n *Notice, rc Recipient, key string) (*gomail.Msg, error) {
	v := r.view(n, rc)
	text, html, err := r.bodies(n, rc.ManageToken != "")
	if err != nil {
		return nil, err
	}
	if rc.ManageToken != "" {
		// The bodies differ between subscribers only in their token.
		text = strings.ReplaceAll(text, tokenPlaceholder, rc.ManageToken)
		html = strings.ReplaceAll(html, tokenPlaceholder, rc.ManageToken)
	}
	msg, err := r.message(v.Subject, rc.Email, text, html)
	if err != nil {
		return nil, err
	}
	msg.SetMessageIDWithValue(r.messageID(key))
	// Date is when the news was published, the same on every attempt, so
	// updates sent in parallel still sort in order in a mail client.
	if !n.At.IsZero() {
		msg.SetDateWithValue(n.At)
	}
	if t := n.threadID(r.page, r.domain); t != "" {
		msg.SetGenHeaderPreformatted(gomail.HeaderInReplyTo, "<"+t+">")
		msg.SetGenHeaderPreformatted(gomail.HeaderReferences, "<"+t+">")
	}
	if u := v.UnsubscribeURL; u != "" {
		if strings.HasPrefix(u, "https://") {
			// RFC 8058: a POST with List-Unsubscribe=One-Click to this URL
			// unsubscribes without further questions.
			if err := msg.SetListUnsubscribeOneClick(u); err != nil {
				return nil, fmt.Errorf("set List-Unsubscribe: %w", err)
			}
		} else {
			// One-click needs https; a plain-http page (a test install)
			// still offers the link.
			msg.SetListUnsubscribe(u)
		}
	}
	msg.SetBulk()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	return msg, nil
}

// tokenPlaceholder stands for a subscriber's manage token in bodies
// rendered once per notice; it has a token's length and alphabet, so URL
// and HTML escaping leave it alone.
const tokenPlaceholder = "STATUSDxTOKENxPLACEHOLDERxxxxxxxxxxxxxxxxxx"

// bodies renders a notice's text and HTML parts once (per notice, and per
// whether the recipient has a manage token), with tokenPlaceholder where
// the token goes: a fan-out to 100,000 subscribers executes the templates
// twice, not 200,000 times.
func (r *renderer) bodies(n *Notice, withToken bool) (text, html string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := 0
	if withToken {
		i = 1
	}
	if b := n.bodies[i]; b != nil {
		return b[0], b[1], nil
	}
	rc := Recipient{}
	if withToken {
		rc.ManageToken = tokenPlaceholder
	}
	text, html, err = r.execute(r.view(n, rc))
	if err != nil {
		return "", "", err
	}
	n.bodies[i] = &[2]string{text, html}
	return text, html, nil
}

func (r *renderer) execute(v emailView) (string, string, error) {
	var text, html bytes.Buffer
	if err := r.text.Execute(&text, v); err != nil {
		return "", "", fmt.Errorf("render email text: %w", err)
	}
	if err := r.html.Execute(&html, v); err != nil {
		return "", "", fmt.Errorf("render email html: %w", err)
	}
	return text.String(), html.String(), nil
}

func (r *renderer) build(v emailView, to string) (*gomail.Msg, error) {
	text, html, err := r.execute(v)
	if err != nil {
		return nil, err
	}
	return r.message(v.Subject, to, text, html)
}

func (r *renderer) message(subject, to, text, html string) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(r.from)
	if err := msg.To(to); err != nil {
		return nil, &SendError{Permanent: true, Reason: "invalid recipient address", Err: err}
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetGenHeader(gomail.HeaderUserAgent, "statusd")
	msg.SetBodyString(gomail.TypeTextPlain, text)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)
	return msg, nil
}

// spTime formats like Statuspage: ISO 8601, milliseconds, UTC; zero is null.
type spTime time.Time

func (t spTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + tt.UTC().Format("2006-01-02T15:04:05.000Z07:00") + `"`), nil
}

// Statuspage's webhook shapes (shared/reference/statuspage-v2.md).
type spMeta struct {
	Unsubscribe   string `json:"unsubscribe"`
	Documentation string `json:"documentation"`
	GeneratedAt   spTime `json:"generated_at"`
}

type spPage struct {
	ID                string `json:"id"`
	StatusIndicator   string `json:"status_indicator"`
	StatusDescription string `json:"status_description"`
}

type spAffected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus string `json:"old_status"`
	NewStatus string `json:"new_status"`
}

type spUpdate struct {
	Status               string       `json:"status"`
	Body                 string       `json:"body"`
	CreatedAt            spTime       `json:"created_at"`
	UpdatedAt            spTime       `json:"updated_at"`
	DisplayAt            spTime       `json:"display_at"`
	AffectedComponents   []spAffected `json:"affected_components"`
	DeliverNotifications bool         `json:"deliver_notifications"`
	ID                   string       `json:"id"`
	IncidentID           string       `json:"incident_id"`
}

type spIncident struct {
	Name            string      `json:"name"`
	Status          string      `json:"status"`
	CreatedAt       spTime      `json:"created_at"`
	UpdatedAt       spTime      `json:"updated_at"`
	MonitoringAt    spTime      `json:"monitoring_at"`
	ResolvedAt      spTime      `json:"resolved_at"`
	Impact          string      `json:"impact"`
	Shortlink       string      `json:"shortlink"`
	ScheduledFor    spTime      `json:"scheduled_for"`
	ScheduledUntil  spTime      `json:"scheduled_until"`
	ID              string      `json:"id"`
	PageID          string      `json:"page_id"`
	IncidentUpdates []spUpdate  `json:"incident_updates"`
	Components      []spCompRef `json:"components"`
}

type spCompRef struct {
	Status string  `json:"status"`
	Name   string  `json:"name"`
	ID     string  `json:"id"`
	PageID string  `json:"page_id"`
	Group  *string `json:"group_id"`
}

type spComponentUpdate struct {
	OldStatus     string `json:"old_status"`
	NewStatus     string `json:"new_status"`
	CreatedAt     spTime `json:"created_at"`
	ComponentType string `json:"component_type"`
	ID            string `json:"id"`
	ComponentID   string `json:"component_id"`
}

type spComponent struct {
	Status      string  `json:"status"`
	Name        string  `json:"name"`
	UpdatedAt   spTime  `json:"updated_at"`
	Description *string `json:"description"`
	ID          string  `json:"id"`
	PageID      string  `json:"page_id"`
	GroupID     *string `json:"group_id"`
}

type spWebhook struct {
	Meta            spMeta             `json:"meta"`
	Page            spPage             `json:"page"`
	Incident        *spIncident        `json:"incident,omitempty"`
	Component       *spComponent       `json:"component,omitempty"`
	ComponentUpdate *spComponentUpdate `json:"component_update,omitempty"`
}

// pageIndicator guesses the page-wide indicator a notice implies, for the
// page object of Statuspage payloads: the open incident's impact, or the
// component's status.
func pageIndicator(n *Notice) data.PageStatus {
	switch {
	case n.Incident != nil && n.Incident.Kind == data.KindIncident && n.Incident.Status != data.Resolved && n.Incident.Status != data.Postmortem:
		return data.Rollup(nil, []data.Impact{n.Incident.Impact})
	case n.Incident != nil && n.Incident.Kind == data.KindMaintenance && (n.Incident.Status == data.InProgress || n.Incident.Status == data.Verifying):
		return data.Rollup(nil, []data.Impact{data.ImpactMaintenance})
	case n.Component != nil:
		return data.Rollup([]data.ComponentStatus{n.Component.New, data.Operational}, nil)
	}
	return data.Rollup(nil, nil)
}

// webhook renders n for a webhook endpoint in its format: Statuspage's
// shape, a Slack message or a Microsoft Teams card.
func (r *renderer) webhook(n *Notice, rc Recipient, format data.WebhookFormat) ([]byte, error) {
	switch format {
	case data.FormatSlack:
		return json.Marshal(r.slack(n))
	case data.FormatTeams:
		return json.Marshal(r.teams(n))
	}
	ps := pageIndicator(n)
	w := spWebhook{
		Meta: spMeta{Unsubscribe: r.manageURL(rc.ManageToken), Documentation: r.page.URL + "/subscribe", GeneratedAt: spTime(n.At)},
		Page: spPage{ID: r.page.ID, StatusIndicator: string(ps.Indicator), StatusDescription: ps.Description},
	}
	switch {
	case n.Incident != nil:
		in := n.Incident
		created := in.CreatedAt
		if created.IsZero() {
			created = n.At
		}
		inc := &spIncident{Name: in.Name, Status: string(in.Status), CreatedAt: spTime(created), UpdatedAt: spTime(n.At),
			Impact: string(in.Impact), Shortlink: r.page.URL + "/incidents/" + in.ID,
			ScheduledFor: spTime(in.ScheduledFor), ScheduledUntil: spTime(in.ScheduledUntil),
			ID: in.ID, PageID: r.page.ID, IncidentUpdates: []spUpdate{}, Components: []spCompRef{}}
		switch in.Status {
		case data.Monitoring:
			inc.MonitoringAt = spTime(n.At)
		case data.Resolved, data.Completed, data.Postmortem:
			inc.ResolvedAt = spTime(n.At)
		}
		u := spUpdate{Status: string(in.Status), Body: in.Body, CreatedAt: spTime(n.At), UpdatedAt: spTime(n.At),
			DisplayAt: spTime(n.At), AffectedComponents: []spAffected{}, DeliverNotifications: true, ID: in.UpdateID, IncidentID: in.ID}
		for _, c := range in.Components {
			u.AffectedComponents = append(u.AffectedComponents, spAffected{Code: c.ComponentID, Name: c.Name,
				OldStatus: string(c.OldStatus), NewStatus: string(c.NewStatus)})
			inc.Components = append(inc.Components, spCompRef{Status: string(c.NewStatus), Name: c.Name, ID: c.ComponentID, PageID: r.page.ID})
		}
		if in.UpdateID != "" || in.Body != "" {
			inc.IncidentUpdates = append(inc.IncidentUpdates, u)
		}
		w.Incident = inc
	case n.Component != nil:
		c := n.Component
		w.Component = &spComponent{Status: string(c.New), Name: c.Name, UpdatedAt: spTime(n.At), ID: c.ID, PageID: r.page.ID}
		w.ComponentUpdate = &spComponentUpdate{OldStatus: string(c.Old), NewStatus: string(c.New), CreatedAt: spTime(n.At),
			ComponentType: "Component", ID: fmt.Sprintf("e%d", n.EventID), ComponentID: c.ID}
	}
	return json.Marshal(w)
}

// summary is a notice in a sentence or two of plain text, for chat.
func (r *renderer) summary(n *Notice) (title, text, link string) {
	title = n.Subject(r.page)
	switch {
	case n.Incident != nil:
		text = n.Incident.Body
		var names []string
		for _, c := range n.Incident.Components {
			names = append(names, c.Name)
		}
		if len(names) > 0 {
			text += "\n\nAffected: " + strings.Join(names, ", ")
		}
		link = r.page.URL + "/incidents/" + n.Incident.ID
	case n.Component != nil:
		text = fmt.Sprintf("%s changed from %s to %s.", n.Component.Name, n.Component.Old.Label(), n.Component.New.Label())
		if n.Component.Reason != "" {
			text += " " + n.Component.Reason
		}
		link = r.page.URL + "/"
	}
	if len(text) > 2900 {
		text = text[:2900] + "…"
	}
	return title, text, link
}

// slackEscape escapes what Slack's mrkdwn treats as control characters.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slack is an incoming-webhook message with a text fallback and blocks.
func (r *renderer) slack(n *Notice) map[string]any {
	title, text, link := r.summary(n)
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(title, 150)}},
	}
	if text != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": slackEscape(text)}})
	}
	if link != "" {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []map[string]any{
			{"type": "mrkdwn", "text": "<" + link + "|View on the status page>"}}})
	}
	return map[string]any{"text": slackEscape(title), "blocks": blocks}
}

// teams is a Microsoft Teams incoming-webhook message carrying an Adaptive
// Card.
func (r *renderer) teams(n *Notice) map[string]any {
	title, text, link := r.summary(n)
	body := []map[string]any{
		{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true},
	}
	if text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": text, "wrap": true})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if link != "" {
		card["actions"] = []map[string]any{{"type": "Action.OpenUrl", "title": "View on the status page", "url": link}}
	}
	return map[string]any{"type": "message", "attachments": []map[string]any{
		{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
