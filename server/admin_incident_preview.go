package server

import (
	"context"
	"encoding/json"
	"html/template"
	"sort"
	"strings"

	"github.com/statusd/statusd/data"
)

// A preview shows what publishing a draft will put out, made by the same
// code that will make it: the card the status page shows (the public
// templates' "summary" part), the email subscribers get, and the webhook
// body in Statuspage's shape.

// previewView is a draft's preview.
type previewView struct {
	PageHTML template.HTML // the status page's card, from the public templates
	Notify   bool
	Subject  string
	Email    string // the email's text
	Webhook  string // the webhook's JSON, indented
	Body     data.RenderedBody
}

// MessagePreviewer renders the email and the webhook body subscribers get
// for an incident event, as the notifier will send them. Set it in
// AdminOptions to preview with the notifier's own renderer; without one the
// admin renders a plain email and the Statuspage webhook shape itself.
type MessagePreviewer interface {
	PreviewEmail(ev *data.IncidentChanged) (subject, text string, err error)
	PreviewWebhook(ev *data.IncidentChanged) ([]byte, error)
}

// previewIncident is the incident as it will be once d is published, and
// the event that publishing it will write.
func (a *admin) previewIncident(ctx context.Context, d data.Draft, body data.RenderedBody, ci *catalogInfo) (data.Incident, *data.IncidentChanged, error) {
	now := a.now().UTC()
	inc := data.Incident{ID: "preview", Kind: d.Kind, Name: d.Name, Status: d.Status, Impact: d.Impact, CreatedAt: now, UpdatedAt: now,
		StartedAt: now, ScheduledFor: d.ScheduledFor, ScheduledUntil: d.ScheduledUntil}
	if d.Kind == data.KindMaintenance {
		inc.Impact = data.ImpactMaintenance
	}
	old := map[string]data.ComponentStatus{}
	for _, c := range ci.snap.Components {
		old[c.ID] = c.Status
	}
	if d.IncidentID != "" {
		st, err := a.workflow()
		if err != nil {
			return inc, nil, err
		}
		existing, err := st.Incident(ctx, d.IncidentID)
		if err != nil {
			return inc, nil, err
		}
		inc = existing
		inc.Status, inc.UpdatedAt = d.Status, now
		if d.Kind == data.KindIncident && d.Impact != "" {
			inc.Impact = d.Impact
		}
		if d.Status == data.Resolved && inc.ResolvedAt.IsZero() {
			inc.ResolvedAt = now
		}
	}
	u := data.IncidentUpdate{ID: "preview", IncidentID: inc.ID, Status: d.Status, Body: body.Text, BodyHTML: body.HTML,
		CreatedAt: now, UpdatedAt: now, DisplayAt: now}
	ids := make([]string, 0, len(d.Components))
	for id := range d.Components {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st := d.Components[id]
		a := data.AffectedComponent{ComponentID: id, Name: ci.names[id], OldStatus: old[id], NewStatus: old[id], Declared: st}
		if st != "" {
			a.NewStatus = st
		}
		u.Affected = append(u.Affected, a)
		if !contains(inc.ComponentIDs, id) {
			inc.ComponentIDs = append(inc.ComponentIDs, id)
		}
	}
	inc.Updates = append([]data.IncidentUpdate{u}, inc.Updates...)
	ev := &data.IncidentChanged{IncidentID: inc.ID, Kind: inc.Kind, Name: inc.Name, Impact: inc.Impact, Status: d.Status,
		CreatedAt: inc.CreatedAt, StartedAt: inc.StartedAt, ScheduledFor: inc.ScheduledFor, ScheduledUntil: inc.ScheduledUntil,
		UpdateID: u.ID, Body: body.Text, At: now, Components: u.Affected, Notify: d.Notify, Actor: d.CreatedBy}
	return inc, ev, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (a *admin) preview(ctx context.Context, d data.Draft) (*previewView, error) {
	body, err := renderMarkdown(d.Body)
	if err != nil {
		return nil, err
	}
	ci, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	inc, ev, err := a.previewIncident(ctx, d, body, ci)
	if err != nil {
		return nil, err
	}
	m := newModel(a.srv.opts.Page, ci.snap, false)
	iv := a.srv.incidentView(m, inc)
	var b strings.Builder
	if err := a.srv.tmpl.ExecuteTemplate(&b, "summary", iv); err != nil {
		return nil, err
	}
	pv := &previewView{PageHTML: template.HTML(b.String()), Notify: d.Notify, Body: body} //nolint:gosec // html/template's output
	if p := a.opts.Previewer; p != nil {
		if pv.Subject, pv.Email, err = p.PreviewEmail(ev); err != nil {
			return nil, err
		}
		wh, err := p.PreviewWebhook(ev)
		if err != nil {
			return nil, err
		}
		pv.Webhook = string(wh)
		return pv, nil
	}
	pv.Subject, pv.Email = a.plainEmail(ev)
	wh, err := json.MarshalIndent(a.statuspageWebhook(inc, m), "", "  ")
	if err != nil {
		return nil, err
	}
	pv.Webhook = string(wh)
	return pv, nil
}

// plainEmail is the email a subscriber gets, in text.
func (a *admin) plainEmail(ev *data.IncidentChanged) (subject, text string) {
	page := a.srv.opts.Page
	head := ev.Status.Label() + ": " + ev.Name
	if ev.Kind == data.KindMaintenance {
		head = "Maintenance " + strings.ToLower(ev.Status.Label()) + ": " + ev.Name
	}
	subject = "[" + page.Name + "] " + head
	var b strings.Builder
	b.WriteString(ev.Name + "\n\n")
	b.WriteString("Status: " + ev.Status.Label() + "\n")
	if ev.Kind == data.KindIncident && ev.Impact != data.ImpactNone {
		b.WriteString("Impact: " + ev.Impact.Label() + "\n")
	}
	if !ev.ScheduledFor.IsZero() {
		b.WriteString("Scheduled: " + a.srv.timeView(ev.ScheduledFor).Text + " to " + a.srv.timeView(ev.ScheduledUntil).Text + "\n")
	}
	b.WriteString("\n" + ev.Body + "\n")
	if len(ev.Components) > 0 {
		b.WriteString("\nAffected:\n")
		for _, c := range ev.Components {
			b.WriteString("- " + c.Name + ": " + c.NewStatus.Label() + "\n")
		}
	}
	b.WriteString("\nFollow it on " + page.URL + "/incidents/" + ev.IncidentID + "\n")
	return subject, b.String()
}

// Statuspage's webhook body for an incident (see
// shared/reference/statuspage-v2.md).
type spWebhook struct {
	Meta     spWebhookMeta `json:"meta"`
	Page     spWebhookPage `json:"page"`
	Incident spIncident    `json:"incident"`
}

type spWebhookMeta struct {
	Unsubscribe   string `json:"unsubscribe"`
	Documentation string `json:"documentation"`
	GeneratedAt   spTime `json:"generated_at"`
}

type spWebhookPage struct {
	ID                string `json:"id"`
	StatusIndicator   string `json:"status_indicator"`
	StatusDescription string `json:"status_description"`
}

func (a *admin) statuspageWebhook(inc data.Incident, m *model) spWebhook {
	page := a.srv.opts.Page
	out := spWebhook{
		Meta: spWebhookMeta{Unsubscribe: page.URL + "/unsubscribe", Documentation: page.URL + "/api/admin/openapi.json", GeneratedAt: spTime(a.now())},
		Page: spWebhookPage{ID: page.ID, StatusIndicator: string(m.status.Indicator), StatusDescription: m.status.Description},
	}
	si := spIncident{ID: inc.ID, Name: inc.Name, Status: string(inc.Status), CreatedAt: spTime(inc.CreatedAt), UpdatedAt: spTime(inc.UpdatedAt),
		MonitoringAt: spTime(inc.MonitoringAt), ResolvedAt: spTime(inc.ResolvedAt), Impact: string(inc.Impact),
		Shortlink: page.URL + "/incidents/" + inc.ID, StartedAt: spTime(inc.StartedAt), PageID: page.ID,
		IncidentUpdates: []spUpdate{}, Components: []json.RawMessage{}}
	if inc.Kind == data.KindMaintenance {
		f, u := spTime(inc.ScheduledFor), spTime(inc.ScheduledUntil)
		si.ScheduledFor, si.ScheduledUntil = &f, &u
	}
	for _, u := range inc.Updates {
		su := spUpdate{ID: u.ID, Status: string(u.Status), Body: u.Body, IncidentID: inc.ID, CreatedAt: spTime(u.CreatedAt),
			UpdatedAt: spTime(u.UpdatedAt), DisplayAt: spTime(u.DisplayAt), AffectedComponents: []spAffected{}, DeliverNotifications: true}
		for _, c := range u.Affected {
			su.AffectedComponents = append(su.AffectedComponents, spAffected{Code: c.ComponentID, Name: c.Name,
				OldStatus: string(c.OldStatus), NewStatus: string(c.NewStatus)})
		}
		si.IncidentUpdates = append(si.IncidentUpdates, su)
	}
	now := map[string]data.ComponentStatus{}
	if len(inc.Updates) > 0 {
		for _, af := range inc.Updates[0].Affected {
			now[af.ComponentID] = af.NewStatus
		}
	}
	for _, id := range inc.ComponentIDs {
		for _, c := range m.snap.Components {
			if c.ID == id {
				st := c.Status
				if s, ok := now[id]; ok {
					st = s
				}
				b, err := json.Marshal(spComponent{ID: c.ID, Name: c.Name, Status: string(st),
					CreatedAt: spTime(c.CreatedAt), UpdatedAt: spTime(c.UpdatedAt), Position: c.Position, Showcase: c.Showcase, PageID: page.ID})
				if err == nil { // a struct of strings and times always encodes
					si.Components = append(si.Components, b)
				}
			}
		}
	}
	out.Incident = si
	return out
}
