package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/templates"
)

// The incident workflow: a comms lead starts from a template, fills in what
// is known, previews exactly what the page, email and webhooks will carry,
// and publishes. Every message is a draft first (data.Draft); a publish is
// one store transaction. The UI (this file) and the API
// (admin_incident_api.go) share draftInput, which turns what was typed into
// a draft, rendering the template and checking the Markdown on the way, so
// that a preview fails loudly on what a publish would refuse.

// IncidentStore is what the incident workflow needs from the store.
// *data.Store satisfies it.
type IncidentStore interface {
	CreateDraft(ctx context.Context, in data.DraftInput) (data.Draft, error)
	UpdateDraft(ctx context.Context, id string, in data.DraftInput) (data.Draft, error)
	DiscardDraft(ctx context.Context, id, actor string) error
	Draft(ctx context.Context, id string) (data.Draft, error)
	Drafts(ctx context.Context, f data.DraftFilter) ([]data.Draft, error)
	PublishDraft(ctx context.Context, id, actor string, body data.RenderedBody) (data.Published, error)
	AddNote(ctx context.Context, incidentID, body, actor string) (data.Note, error)
	Details(ctx context.Context, ids ...string) (map[string]data.IncidentDetails, error)
	Incidents(ctx context.Context, f data.IncidentFilter) ([]data.Incident, error)
	Incident(ctx context.Context, id string) (data.Incident, error)
	SaveTemplate(ctx context.Context, t data.MessageTemplate, actor string) (data.MessageTemplate, error)
	DeleteTemplate(ctx context.Context, id, actor string) error
	Templates(ctx context.Context) ([]data.MessageTemplate, error)
}

var _ IncidentStore = (*data.Store)(nil)

// BuiltinTemplates parses the message templates that ship in the binary.
func BuiltinTemplates() ([]data.MessageTemplate, error) {
	names, err := fs.Glob(templates.MessagesFS, "messages/*.md")
	if err != nil {
		return nil, fmt.Errorf("list message templates: %w", err)
	}
	var out []data.MessageTemplate
	for _, name := range names {
		src, err := fs.ReadFile(templates.MessagesFS, name)
		if err != nil {
			return nil, fmt.Errorf("read message template %s: %w", name, err)
		}
		t, err := data.ParseMessageTemplateFile(strings.TrimSuffix(path.Base(name), ".md"), src)
		if err != nil {
			return nil, fmt.Errorf("message template %s: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func (a *admin) initIncidents() error {
	a.incidents, _ = a.store.(IncidentStore)
	builtin, err := BuiltinTemplates()
	if err != nil {
		return err
	}
	byID := map[string]int{}
	for _, t := range builtin {
		byID[t.ID] = len(a.builtin)
		a.builtin = append(a.builtin, t)
	}
	for _, t := range a.opts.Templates {
		t.Origin = "config"
		if err := t.Validate(); err != nil {
			return fmt.Errorf("message template %s: %w", t.ID, err)
		}
		if i, ok := byID[t.ID]; ok {
			a.builtin[i] = t
			continue
		}
		byID[t.ID] = len(a.builtin)
		a.builtin = append(a.builtin, t)
	}
	return nil
}

// errNoWorkflow answers when the store has no incident workflow.
var errNoWorkflow = fiber.NewError(fiber.StatusNotFound, "Incidents are not available with this store.")

func (a *admin) workflow() (IncidentStore, error) {
	if a.incidents == nil {
		return nil, errNoWorkflow
	}
	return a.incidents, nil
}

// messageTemplates returns every template: built-in, configured, then those
// made in the admin, in menu order.
func (a *admin) messageTemplates(ctx context.Context) ([]data.MessageTemplate, error) {
	st, err := a.workflow()
	if err != nil {
		return nil, err
	}
	own, err := st.Templates(ctx)
	if err != nil {
		return nil, err
	}
	out := append(append([]data.MessageTemplate{}, a.builtin...), own...)
	data.SortTemplates(out)
	return out, nil
}

func (a *admin) messageTemplate(ctx context.Context, id string) (data.MessageTemplate, error) {
	all, err := a.messageTemplates(ctx)
	if err != nil {
		return data.MessageTemplate{}, err
	}
	for _, t := range all {
		if t.ID == id {
			return t, nil
		}
	}
	return data.MessageTemplate{}, data.Invalid("template", "there is no template %q", id)
}

// --- what was typed → a draft ---

// messageInput is what a person gives for a message, from the form or the
// API, before it becomes a data.DraftInput.
type messageInput struct {
	Kind       data.Kind
	IncidentID string
	Template   string
	Title      string
	Status     string
	Severity   string
	Impact     string // "" from the severity
	Body       string // Markdown; "" writes it from the template
	Components map[string]string
	Variables  map[string]string
	// NextUpdateBy is when the next update is promised; zero for none.
	NextUpdateBy   time.Time
	Notify         bool
	Note           string
	ScheduledFor   time.Time
	ScheduledUntil time.Time
	AutoTransition bool
	Actor          string
}

// catalogInfo is the names of components and journeys, for variables and
// views.
type catalogInfo struct {
	snap       *data.Snapshot
	names      map[string]string // component names
	journeyOf  map[string]string // component id → journey name
	journeyIDs map[string]string // component id → journey id
}

func (a *admin) catalog(ctx context.Context) (*catalogInfo, error) {
	snap, err := a.srv.store.Snapshot(ctx, data.SnapshotOptions{Days: 1, Location: a.srv.opts.Page.Location, Recent: 1, Limit: 1})
	if err != nil {
		return nil, err
	}
	ci := &catalogInfo{snap: snap, names: map[string]string{}, journeyOf: map[string]string{}, journeyIDs: map[string]string{}}
	jn := map[string]string{}
	for _, j := range snap.Journeys {
		jn[j.ID] = j.Name
	}
	for _, c := range snap.Components {
		ci.names[c.ID] = c.Name
		ci.journeyOf[c.ID] = jn[c.JourneyID]
		ci.journeyIDs[c.ID] = c.JourneyID
	}
	return ci, nil
}

// words joins names as a sentence does: "A", "A and B", "A, B and C".
func words(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// templateVars are the variables a template is run with: the facts of the
// message (title, status, components and journeys, times) and what the
// person filled in. Optional ones are only present when given, so that a
// template needing one fails loudly without it.
func (a *admin) templateVars(ci *catalogInfo, in messageInput, status data.IncidentStatus, title string, comps []string, existing *data.Incident) map[string]string {
	v := map[string]string{"title": title, "status": status.Label()}
	var cn, jn []string
	seenJ := map[string]bool{}
	for _, id := range comps {
		if n, ok := ci.names[id]; ok {
			cn = append(cn, n)
		}
		if j := ci.journeyOf[id]; j != "" && !seenJ[j] {
			seenJ[j] = true
			jn = append(jn, j)
		}
	}
	v["components"], v["journeys"] = words(cn), words(jn)
	if v["components"] == "" {
		v["components"] = "some of our services"
	}
	if v["journeys"] == "" {
		v["journeys"] = "our service"
	}
	when := func(t time.Time) string { return a.srv.timeView(t).Text }
	start := a.now()
	if existing != nil {
		start = existing.StartedAt
		if existing.Kind == data.KindMaintenance {
			start = existing.ScheduledFor
		}
	}
	if !in.ScheduledFor.IsZero() {
		start = in.ScheduledFor
	}
	v["start"] = when(start)
	end := in.ScheduledUntil
	if end.IsZero() && existing != nil {
		end = existing.ScheduledUntil
	}
	if !end.IsZero() {
		v["end"] = when(end)
	}
	if !in.NextUpdateBy.IsZero() {
		v["next_update"] = when(in.NextUpdateBy)
	}
	if existing != nil && len(existing.Updates) > 0 {
		var lines []string
		for i := len(existing.Updates) - 1; i >= 0; i-- {
			u := existing.Updates[i]
			lines = append(lines, "- "+when(u.DisplayAt)+": "+u.Status.Label())
		}
		v["timeline"] = strings.Join(lines, "\n")
	}
	for k, val := range in.Variables {
		if val = strings.TrimSpace(val); val != "" && data.IsTemplateVariable(k) {
			v[k] = val
		}
	}
	return v
}

// draftInput turns a message into a draft's input: the template (if any)
// gives the defaults and, when no body was typed, writes the title and the
// body; the body must then render as Markdown. Errors are *InvalidError
// naming the field to fix (a missing template variable names the
// variable).
func (a *admin) draftInput(ctx context.Context, in messageInput) (data.DraftInput, error) {
	st, err := a.workflow()
	if err != nil {
		return data.DraftInput{}, err
	}
	d := data.DraftInput{Kind: in.Kind, IncidentID: in.IncidentID, Name: strings.TrimSpace(in.Title), Body: strings.TrimSpace(in.Body),
		NextUpdateBy: in.NextUpdateBy, Notify: in.Notify, TemplateID: in.Template, Variables: map[string]string{},
		ScheduledFor: in.ScheduledFor, ScheduledUntil: in.ScheduledUntil, AutoTransition: in.AutoTransition, Note: strings.TrimSpace(in.Note),
		Actor: in.Actor, Components: map[string]data.ComponentStatus{}}
	for k, v := range in.Variables {
		if strings.TrimSpace(v) != "" {
			if !data.IsTemplateVariable(k) {
				return d, data.Invalid("variables", "%q is not a template variable", k)
			}
			d.Variables[k] = strings.TrimSpace(v)
		}
	}
	var existing *data.Incident
	if in.IncidentID != "" {
		inc, err := st.Incident(ctx, in.IncidentID)
		if err != nil {
			return d, err
		}
		existing = &inc
		d.Kind = inc.Kind
	}
	var tmpl *data.MessageTemplate
	if in.Template != "" {
		t, err := a.messageTemplate(ctx, in.Template)
		if err != nil {
			return d, err
		}
		tmpl = &t
		if d.Kind == "" {
			d.Kind = t.Kind
		}
		if d.Kind != t.Kind {
			return d, data.Invalid("template", "%q is a %s template; choose a %s one", t.Name, t.Kind, d.Kind)
		}
	}
	if d.Kind == "" {
		d.Kind = data.KindIncident
	}
	if d.Status, err = a.parseStatus(in.Status, d.Kind, tmpl, existing); err != nil {
		return d, err
	}
	if d.Severity, err = data.ParseSeverity(in.Severity); err != nil {
		return d, err
	}
	if d.Severity == "" && tmpl != nil && existing == nil {
		d.Severity = tmpl.Severity
	}
	if in.Impact != "" {
		if d.Impact, err = data.ParseImpact(in.Impact); err != nil {
			return d, err
		}
	}
	var ids []string
	for id, s := range in.Components {
		switch {
		case s == "" && d.Kind == data.KindIncident:
			continue // not affected
		case s == "" || s == "affected":
			d.Components[id] = ""
			if d.Kind == data.KindIncident && tmpl != nil {
				d.Components[id] = tmpl.ComponentStatus
			}
		default:
			cs, err := data.ParseComponentStatus(s)
			if err != nil {
				return d, data.Invalid("components", "%s for %q", strings.TrimPrefix(err.(*data.InvalidError).Reason, ""), id)
			}
			d.Components[id] = cs
		}
		ids = append(ids, id)
	}
	// An update from a template that sets a status (monitoring: operational)
	// applies it to the incident's components unless some were named.
	if existing != nil && len(d.Components) == 0 && tmpl != nil && tmpl.ComponentStatus != "" && d.Kind == data.KindIncident &&
		(data.Incident{Kind: d.Kind, Status: d.Status}).Open() {
		for _, id := range existing.ComponentIDs {
			d.Components[id] = tmpl.ComponentStatus
		}
	}
	if existing != nil {
		ids = append(ids, existing.ComponentIDs...)
	}
	ids = uniqueSorted(ids)
	ci, err := a.catalog(ctx)
	if err != nil {
		return d, err
	}
	title := d.Name
	if title == "" && existing != nil {
		title = existing.Name
	}
	if tmpl != nil && (d.Body == "" || (d.Name == "" && existing == nil)) {
		vars := a.templateVars(ci, in, d.Status, title, ids, existing)
		tt, tb, err := tmpl.Render(vars)
		if err != nil {
			return d, err
		}
		if d.Name == "" && existing == nil {
			d.Name = tt
		}
		if d.Body == "" {
			d.Body = tb
		}
	}
	if d.Body == "" {
		return d, data.Invalid("body", "must not be empty: write the message, or choose a template to write it")
	}
	if _, err := renderMarkdown(d.Body); err != nil {
		return d, err
	}
	if d.Note != "" {
		if err := data.ValidateText("note", d.Note, data.MaxBodyLength, false, true); err != nil {
			return d, err
		}
	}
	return d, nil
}

func uniqueSorted(ids []string) []string {
	sort.Strings(ids)
	out := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			out = append(out, id)
		}
	}
	return out
}

// parseStatus reads the status of a message: as given, else the
// template's, else where a new one starts (an update with neither keeps
// the incident's status).
func (a *admin) parseStatus(v string, k data.Kind, tmpl *data.MessageTemplate, existing *data.Incident) (data.IncidentStatus, error) {
	if v != "" {
		return data.ParseIncidentStatus(v, k)
	}
	switch {
	case tmpl != nil:
		return tmpl.Status, nil
	case existing != nil:
		return existing.Status, nil
	case k == data.KindMaintenance:
		return data.Scheduled, nil
	}
	return data.Investigating, nil
}

// publish renders a draft's body and publishes it.
func (a *admin) publish(ctx context.Context, id, actor string) (data.Published, error) {
	st, err := a.workflow()
	if err != nil {
		return data.Published{}, err
	}
	d, err := st.Draft(ctx, id)
	if err != nil {
		return data.Published{}, err
	}
	if !d.Pending() {
		return data.Published{}, fmt.Errorf("draft %s: %w", id, data.ErrConflict)
	}
	body, err := renderMarkdown(d.Body)
	if err != nil {
		return data.Published{}, err
	}
	return st.PublishDraft(ctx, id, actor, body)
}

// nextUpdateIn reads "in N minutes" from a form.
func (a *admin) nextUpdateIn(v string) (time.Time, error) {
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 7*24*60 {
		return time.Time{}, data.Invalid("next_update", "choose when the next update will be posted")
	}
	return a.now().Add(time.Duration(n) * time.Minute).Truncate(time.Minute), nil
}

// conflictMessage says why a publish or update was refused, for people.
func conflictMessage(err error) error {
	if errors.Is(err, data.ErrConflict) {
		return fiber.NewError(fiber.StatusConflict, "This cannot be done now: "+strings.TrimSuffix(conflictReason(err), ": conflict")+
			". Reload the incident to see its current state.")
	}
	return err
}

func conflictReason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": conflict"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "publish draft") {
		s = s[i+2:]
	}
	return s
}
