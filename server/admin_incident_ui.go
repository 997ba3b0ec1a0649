package server

import (
	"errors"
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

func (a *admin) incidentRoutes(g fiber.Router) {
	g.Get("/incidents", a.require(permView, a.incidentsPage))
	g.Get("/incidents/new", a.require(permIncidents, a.newMessagePage(data.KindIncident)))
	g.Post("/incidents/new", a.require(permIncidents, a.messageFormPost))
	g.Get("/maintenance/new", a.require(permIncidents, a.newMessagePage(data.KindMaintenance)))
	g.Post("/maintenance/new", a.require(permIncidents, a.messageFormPost))
	g.Get("/incidents/:id", a.require(permView, a.incidentPage))
	g.Get("/incidents/:id/update", a.require(permIncidents, a.newMessagePage("")))
	g.Post("/incidents/:id/update", a.require(permIncidents, a.messageFormPost))
	g.Post("/incidents/:id/notes", a.require(permIncidents, a.addNoteForm))
	g.Get("/drafts/:id", a.require(permIncidents, a.draftPage))
	g.Get("/drafts/:id/edit", a.require(permIncidents, a.editDraftPage))
	g.Post("/drafts/:id/edit", a.require(permIncidents, a.messageFormPost))
	g.Post("/drafts/:id/publish", a.require(permIncidents, a.publishDraftForm))
	g.Post("/drafts/:id/discard", a.require(permIncidents, a.discardDraftForm))
	g.Get("/templates", a.require(permIncidents, a.templatesPage))
	g.Post("/templates", a.require(permIncidents, a.saveTemplateForm))
	g.Post("/templates/:id/delete", a.require(permIncidents, a.deleteTemplateForm))
}

// --- lists ---

// workLists fills the lists of drafts, open (and overdue) incidents,
// upcoming maintenance and, when recent, closed ones.
func (a *admin) workLists(c *fiber.Ctx, recent bool) (*workView, error) {
	st, err := a.workflow()
	if err != nil {
		return nil, err
	}
	ctx, cancel := bound(c)
	defer cancel()
	wv := &workView{CanEdit: can(sessionOf(c).User.Role, permIncidents)}
	if wv.CanEdit {
		drafts, err := st.Drafts(ctx, data.DraftFilter{Pending: true})
		if err != nil {
			return nil, err
		}
		for _, d := range drafts {
			wv.Drafts = append(wv.Drafts, a.draftRow(d))
		}
	}
	list, err := st.Incidents(ctx, data.IncidentFilter{Limit: 100, Open: !recent})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(list))
	for i, in := range list {
		ids[i] = in.ID
	}
	det, err := st.Details(ctx, ids...)
	if err != nil {
		return nil, err
	}
	for _, in := range list {
		r := a.incidentRow(in, det[in.ID])
		switch {
		case in.Kind == data.KindMaintenance && in.Status == data.Scheduled:
			wv.Upcoming = append(wv.Upcoming, r)
		case in.Open():
			wv.Open = append(wv.Open, r)
			if r.Overdue {
				wv.Overdue = append(wv.Overdue, r)
			}
		case recent:
			wv.Recent = append(wv.Recent, r)
		}
	}
	return wv, nil
}

// dashboardWork is the dashboard's part about incidents: overdue updates,
// drafts, open incidents and upcoming maintenance.
func (a *admin) dashboardWork(c *fiber.Ctx) (*workView, error) {
	if a.incidents == nil {
		return nil, nil
	}
	return a.workLists(c, false)
}

func (a *admin) incidentsPage(c *fiber.Ctx) error {
	wv, err := a.workLists(c, true)
	if err != nil {
		return err
	}
	v := a.base(c, "Incidents and maintenance")
	v.Work = wv
	v.Notice = workNotice(c.Query("done"))
	return a.render(c, "incidents.html", v)
}

func workNotice(done string) string {
	return map[string]string{
		"published":        "Published. The status page shows it within seconds.",
		"published-silent": "Published without notifying subscribers. The status page shows it within seconds.",
		"discarded":        "The draft was discarded. Nothing was published.",
		"note":             "The note was added. Only your team sees it.",
		"template-saved":   "The template was saved.",
		"template-deleted": "The template was deleted.",
	}[done]
}

// --- one incident ---

func (a *admin) incidentPage(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	in, err := st.Incident(ctx, c.Params("id"))
	if errors.Is(err, data.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "There is no incident or maintenance with this id.")
	}
	if err != nil {
		return err
	}
	det, err := st.Details(ctx, in.ID)
	if err != nil {
		return err
	}
	d := det[in.ID]
	iv := &adminIncidentView{incidentRow: a.incidentRow(in, d), Open: in.Open(), PublicURL: "/incidents/" + in.ID}
	ci, err := a.catalog(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, id := range in.ComponentIDs {
		names = append(names, ci.names[id])
	}
	iv.Components = words(names)
	for _, u := range in.Updates {
		uv := adminUpdateView{Status: labelView{Value: string(u.Status), Label: u.Status.Label(), Class: string(u.Status)},
			At: a.srv.timeView(u.DisplayAt), HTML: template.HTML(u.BodyHTML), Paras: paragraphs(u.Body)} //nolint:gosec // rendered by renderMarkdown
		for _, af := range u.Affected {
			uv.Comps = append(uv.Comps, affectedView{Name: af.Name, Old: statusOf(af.OldStatus), New: statusOf(af.NewStatus)})
		}
		iv.Updates = append(iv.Updates, uv)
	}
	for _, n := range d.Notes {
		iv.Notes = append(iv.Notes, noteView{Actor: n.Actor, At: a.srv.timeView(n.CreatedAt), Paras: paragraphs(n.Body)})
	}
	if d.Postmortem != "" {
		if r, err := renderMarkdown(d.Postmortem); err == nil {
			iv.Postmortem = template.HTML(r.HTML) //nolint:gosec // rendered by renderMarkdown
		}
	}
	if can(sessionOf(c).User.Role, permSubscribers) {
		iv.ShowDeliveries = true
		if iv.Deliveries, err = a.incidentDeliveries(ctx, in.ID); err != nil {
			return err
		}
	}
	wv := &workView{CanEdit: can(sessionOf(c).User.Role, permIncidents), Incident: iv}
	if wv.CanEdit {
		drafts, err := st.Drafts(ctx, data.DraftFilter{Pending: true, IncidentID: in.ID})
		if err != nil {
			return err
		}
		for _, dr := range drafts {
			iv.Drafts = append(iv.Drafts, a.draftRow(dr))
		}
		all, err := a.messageTemplates(ctx)
		if err != nil {
			return err
		}
		for _, t := range all {
			if t.Kind == in.Kind && data.CanMove(in.Kind, in.Status, t.Status) {
				iv.Actions = append(iv.Actions, option{Value: "/admin/incidents/" + in.ID + "/update?template=" + url.QueryEscape(t.ID), Label: t.Name})
			}
		}
		if in.Kind == data.KindIncident && data.CanMove(in.Kind, in.Status, data.Postmortem) {
			iv.Actions = append(iv.Actions, option{Value: "/admin/incidents/" + in.ID + "/update?status=postmortem", Label: "Write the postmortem"})
		}
	}
	v := a.base(c, in.Name)
	v.Work = wv
	v.Notice = workNotice(c.Query("done"))
	return a.render(c, "incident.html", v)
}

func (a *admin) addNoteForm(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	if _, err := st.AddNote(ctx, c.Params("id"), strings.TrimSpace(c.FormValue("note")), sessionOf(c).User.Email); err != nil {
		if errors.Is(err, data.ErrNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "There is no incident or maintenance with this id.")
		}
		return err
	}
	return c.Redirect("/admin/incidents/"+c.Params("id")+"?done=note", fiber.StatusSeeOther)
}

// --- the message form ---

// rawMessage is the message form as typed, kept to show it again.
type rawMessage struct {
	Kind                              data.Kind
	IncidentID                        string
	Template, Title, Status, Severity string
	Impact, Body, Note, NextUpdate    string
	Start, End                        string
	Notify, Auto                      bool
	Components                        map[string]string
	Vars                              map[string]string
}

var formVars = []string{"impact", "workaround", "eta", "details", "cause"}

func (a *admin) readMessageForm(c *fiber.Ctx) rawMessage {
	r := rawMessage{Kind: data.Kind(c.FormValue("kind")), IncidentID: c.FormValue("incident"), Template: c.FormValue("template"),
		Title: c.FormValue("title"), Status: c.FormValue("status"), Severity: c.FormValue("severity"), Impact: c.FormValue("impact"),
		Body: c.FormValue("body"), Note: c.FormValue("note"), NextUpdate: c.FormValue("next_update"), Start: c.FormValue("start"),
		End: c.FormValue("end"), Notify: c.FormValue("notify") == "1", Auto: c.FormValue("auto") == "1",
		Components: map[string]string{}, Vars: map[string]string{}}
	for k, v := range c.Request().PostArgs().All() {
		if id, ok := strings.CutPrefix(string(k), "c."); ok && len(v) > 0 {
			r.Components[id] = string(v)
		}
	}
	for _, id := range formValues(c, "component") {
		r.Components[id] = "affected"
	}
	for _, name := range formVars {
		r.Vars[name] = c.FormValue("var." + name)
	}
	return r
}

func (a *admin) localTime(field, v string) (time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(v), a.srv.opts.Page.Location)
	if err != nil {
		return time.Time{}, data.Invalid(field, "%q is not a date and time like 2026-11-24T09:30", v)
	}
	return t, nil
}

func (a *admin) messageFromRaw(r rawMessage, actor string) (messageInput, error) {
	in := messageInput{Kind: r.Kind, IncidentID: r.IncidentID, Template: r.Template, Title: r.Title, Status: r.Status, Severity: r.Severity,
		Impact: r.Impact, Body: r.Body, Components: r.Components, Variables: r.Vars, Notify: r.Notify, Note: r.Note,
		AutoTransition: r.Auto, Actor: actor}
	var err error
	if in.NextUpdateBy, err = a.nextUpdateIn(r.NextUpdate); err != nil {
		return in, err
	}
	if in.ScheduledFor, err = a.localTime("scheduled_for", r.Start); err != nil {
		return in, err
	}
	if in.ScheduledUntil, err = a.localTime("scheduled_until", r.End); err != nil {
		return in, err
	}
	return in, nil
}

var messageFields = map[string]string{"title": "title", "body": "body", "status": "status", "severity": "severity", "impact": "impact",
	"template": "template", "note": "note", "components": "components", "next_update": "next-update", "scheduled_for": "start",
	"scheduled_until": "end", "variables": "var-details", "": "body"}

func messageFieldID(field string) string {
	if id, ok := messageFields[field]; ok {
		return id
	}
	for _, v := range formVars {
		if v == field {
			return "var-" + v
		}
	}
	if field == "title" || data.IsTemplateVariable(field) {
		return "template"
	}
	return "body"
}

// newMessagePage shows the message form: a new incident (kind incident), a
// new maintenance (kind maintenance), or an update on the incident in the
// path (kind "").
func (a *admin) newMessagePage(kind data.Kind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r := rawMessage{Kind: kind, IncidentID: c.Params("id"), Template: c.Query("template"), Status: c.Query("status"), Notify: true,
			Auto: true, Components: map[string]string{}, Vars: map[string]string{}}
		if r.IncidentID != "" {
			st, err := a.workflow()
			if err != nil {
				return err
			}
			ctx, cancel := bound(c)
			defer cancel()
			in, err := st.Incident(ctx, r.IncidentID)
			if errors.Is(err, data.ErrNotFound) {
				return fiber.NewError(fiber.StatusNotFound, "There is no incident or maintenance with this id.")
			}
			if err != nil {
				return err
			}
			r.Kind = in.Kind
		}
		return a.renderMessageForm(c, fiber.StatusOK, r, "", nil)
	}
}

// renderMessageForm shows the form with r; draftID is the draft being
// edited ("" for a new one); verr, if set, is shown with the field it is
// about.
func (a *admin) renderMessageForm(c *fiber.Ctx, code int, r rawMessage, draftID string, verr error) error {
	ctx, cancel := bound(c)
	defer cancel()
	st, err := a.workflow()
	if err != nil {
		return err
	}
	fv := &messageFormView{Kind: string(r.Kind), IncidentID: r.IncidentID, New: r.IncidentID == "", Title: r.Title, Body: r.Body,
		Note: r.Note, Notify: r.Notify, Start: r.Start, End: r.End, Auto: r.Auto, NextUpdates: minutesOptions(r.NextUpdate)}
	if r.Kind == "" {
		r.Kind = data.KindIncident
		fv.Kind = string(r.Kind)
	}
	var existing *data.Incident
	if r.IncidentID != "" {
		in, err := st.Incident(ctx, r.IncidentID)
		if err != nil {
			return err
		}
		existing = &in
		fv.IncidentName = in.Name
	}
	switch {
	case draftID != "":
		fv.Action, fv.Heading = "/admin/drafts/"+draftID+"/edit", "Edit the draft"
	case existing != nil:
		fv.Action, fv.Heading = "/admin/incidents/"+existing.ID+"/update", "Post an update"
	case r.Kind == data.KindMaintenance:
		fv.Action, fv.Heading = "/admin/maintenance/new", "Schedule maintenance"
	default:
		fv.Action, fv.Heading = "/admin/incidents/new", "New incident"
	}
	all, err := a.messageTemplates(ctx)
	if err != nil {
		return err
	}
	fv.Templates = append(fv.Templates, option{Value: "", Label: "No template: I will write the message", Selected: r.Template == ""})
	for _, t := range all {
		if t.Kind == r.Kind {
			fv.Templates = append(fv.Templates, option{Value: t.ID, Label: t.Name, Selected: t.ID == r.Template})
		}
	}
	fv.Statuses = append(fv.Statuses, option{Value: "", Label: "From the template", Selected: r.Status == ""})
	statuses := []data.IncidentStatus{data.Investigating, data.Identified, data.Monitoring, data.Resolved, data.Postmortem}
	if r.Kind == data.KindMaintenance {
		statuses = []data.IncidentStatus{data.Scheduled, data.InProgress, data.Verifying, data.Completed}
	}
	for _, s := range statuses {
		if existing == nil && (s == data.Resolved || s == data.Postmortem || (r.Kind == data.KindMaintenance && s != data.Scheduled)) {
			continue
		}
		if existing != nil && !data.CanMove(existing.Kind, existing.Status, s) {
			continue
		}
		fv.Statuses = append(fv.Statuses, option{Value: string(s), Label: s.Label(), Selected: string(s) == r.Status})
	}
	fv.Severities = []option{{Value: "", Label: "Not graded (or from the template)", Selected: r.Severity == ""}}
	for _, s := range data.Severities {
		fv.Severities = append(fv.Severities, option{Value: string(s), Label: s.Label(), Selected: string(s) == r.Severity})
	}
	fv.Impacts = []option{{Value: "", Label: "From the severity", Selected: r.Impact == ""}}
	for _, i := range []data.Impact{data.ImpactNone, data.ImpactMinor, data.ImpactMajor, data.ImpactCritical} {
		fv.Impacts = append(fv.Impacts, option{Value: string(i), Label: i.Label(), Selected: string(i) == r.Impact})
	}
	ci, err := a.catalog(ctx)
	if err != nil {
		return err
	}
	for _, j := range ci.snap.Journeys {
		fj := formJourney{Name: j.Name}
		for _, comp := range ci.snap.Components {
			if comp.JourneyID != j.ID || comp.IsGroup {
				continue
			}
			fc := formComponent{ID: comp.ID, Name: comp.Name, FieldID: "c-" + comp.ID}
			if r.Kind == data.KindMaintenance {
				fc.Checked = r.Components[comp.ID] != ""
			} else {
				sel := r.Components[comp.ID]
				keep := "Not affected"
				if existing != nil {
					keep = "No change"
				}
				fc.Options = append(fc.Options, option{Value: "", Label: keep, Selected: sel == ""})
				for _, cs := range data.ComponentStatuses {
					fc.Options = append(fc.Options, option{Value: string(cs), Label: cs.Label(), Selected: string(cs) == sel})
				}
			}
			fj.Components = append(fj.Components, fc)
		}
		if len(fj.Components) > 0 {
			fv.Journeys = append(fv.Journeys, fj)
		}
	}
	labels := map[string]string{"impact": "Customer impact", "workaround": "Workaround", "eta": "Expected fix (ETA)", "details": "Details", "cause": "Cause"}
	for _, name := range formVars {
		help := ""
		for _, tv := range data.TemplateVariables {
			if tv.Name == name {
				help = tv.Help
			}
		}
		fv.Vars = append(fv.Vars, formVar{Name: name, FieldID: "var-" + name, Label: labels[name], Help: help, Value: r.Vars[name]})
	}
	title := fv.Heading
	if fv.IncidentName != "" {
		title += ": " + fv.IncidentName
	}
	v := a.base(c, title)
	v.Work = &workView{CanEdit: true, Form: fv}
	if verr != nil {
		var inv *data.InvalidError
		if !errors.As(verr, &inv) {
			return verr
		}
		v.Errors = append(v.Errors, fieldError{ID: messageFieldID(inv.Field), Message: sentence(inv)})
		return a.renderStatus(c, fiber.StatusUnprocessableEntity, "incident_form.html", v)
	}
	return a.renderStatus(c, code, "incident_form.html", v)
}

// messageFormPost saves the form as a draft (new, or the one being edited)
// and shows its preview; invalid input shows the form again as typed.
func (a *admin) messageFormPost(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	r := a.readMessageForm(c)
	draftID := ""
	if strings.HasPrefix(c.Path(), "/admin/drafts/") {
		draftID = c.Params("id")
		ctx, cancel := bound(c)
		d, err := st.Draft(ctx, draftID)
		cancel()
		if err != nil {
			return err
		}
		r.Kind, r.IncidentID = d.Kind, d.IncidentID
	} else if id := c.Params("id"); id != "" {
		r.IncidentID = id
	}
	if r.Kind == "" && strings.HasPrefix(c.Path(), "/admin/maintenance/") {
		r.Kind = data.KindMaintenance
	}
	in, err := a.messageFromRaw(r, sessionOf(c).User.Email)
	if err != nil {
		return a.renderMessageForm(c, fiber.StatusUnprocessableEntity, r, draftID, err)
	}
	ctx, cancel := bound(c)
	defer cancel()
	di, err := a.draftInput(ctx, in)
	var d data.Draft
	if err == nil {
		if draftID != "" {
			d, err = st.UpdateDraft(ctx, draftID, di)
		} else {
			d, err = st.CreateDraft(ctx, di)
		}
	}
	if err != nil {
		var inv *data.InvalidError
		if errors.As(err, &inv) {
			return a.renderMessageForm(c, fiber.StatusUnprocessableEntity, r, draftID, err)
		}
		if errors.Is(err, data.ErrNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "There is no such incident or draft.")
		}
		return conflictMessage(err)
	}
	return c.Redirect("/admin/drafts/"+d.ID, fiber.StatusSeeOther)
}

// --- drafts ---

func (a *admin) loadDraft(c *fiber.Ctx) (data.Draft, error) {
	st, err := a.workflow()
	if err != nil {
		return data.Draft{}, err
	}
	ctx, cancel := bound(c)
	defer cancel()
	d, err := st.Draft(ctx, c.Params("id"))
	if errors.Is(err, data.ErrNotFound) {
		return d, fiber.NewError(fiber.StatusNotFound, "There is no such draft.")
	}
	return d, err
}

func (a *admin) draftPage(c *fiber.Ctx) error {
	d, err := a.loadDraft(c)
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	dv := &draftView{ID: d.ID, Title: d.Name, Kind: string(d.Kind), IncidentID: d.IncidentID, Status: d.Status.Label(),
		Severity: string(d.Severity), Impact: d.Impact.Label(), NextUpdate: a.srv.timeView(d.NextUpdateBy), Notify: d.Notify,
		Auto: d.AutoTransition, ProposedBy: d.ProposedBy, Template: d.TemplateID, Pending: d.Pending()}
	if d.Note != "" {
		dv.Note = paragraphs(d.Note)
	}
	if d.Kind == data.KindMaintenance && !d.ScheduledFor.IsZero() {
		dv.Window = a.srv.timeView(d.ScheduledFor).Text + " to " + a.srv.timeView(d.ScheduledUntil).Text
	}
	if !d.Pending() && d.PublishedIncidentID != "" {
		dv.PublishedURL = "/admin/incidents/" + d.PublishedIncidentID
	}
	if dv.Title == "" && d.IncidentID != "" {
		if st, err := a.workflow(); err == nil {
			if in, err := st.Incident(ctx, d.IncidentID); err == nil {
				dv.Title = in.Name
			}
		}
	}
	if d.Pending() {
		if dv.Preview, err = a.preview(ctx, d); err != nil {
			var inv *data.InvalidError
			if !errors.As(err, &inv) {
				return err
			}
			v := a.base(c, "Draft: "+dv.Title)
			v.Work = &workView{CanEdit: true, Draft: dv}
			v.Errors = append(v.Errors, fieldError{ID: "edit", Message: sentence(inv)})
			return a.renderStatus(c, fiber.StatusUnprocessableEntity, "draft.html", v)
		}
		ci, err := a.catalog(ctx)
		if err != nil {
			return err
		}
		for _, id := range sortedKeys(d.Components) {
			af := affectedView{Name: ci.names[id], New: statusOf(d.Components[id])}
			if d.Components[id] == "" {
				af.New = componentStatusView{Label: "Affected", Class: "maint", Icon: "maint"}
			}
			dv.Components = append(dv.Components, af)
		}
	}
	v := a.base(c, "Draft: "+dv.Title)
	v.Work = &workView{CanEdit: true, Draft: dv}
	return a.render(c, "draft.html", v)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (a *admin) editDraftPage(c *fiber.Ctx) error {
	d, err := a.loadDraft(c)
	if err != nil {
		return err
	}
	if !d.Pending() {
		return fiber.NewError(fiber.StatusConflict, "This draft was already published or discarded; it cannot be edited.")
	}
	r := rawMessage{Kind: d.Kind, IncidentID: d.IncidentID, Template: d.TemplateID, Title: d.Name, Status: string(d.Status),
		Severity: string(d.Severity), Body: d.Body, Note: d.Note, Notify: d.Notify, Auto: d.AutoTransition,
		Components: map[string]string{}, Vars: d.Variables}
	if d.Kind == data.KindIncident && d.IncidentID == "" && d.Impact != d.Severity.DefaultImpact() {
		r.Impact = string(d.Impact)
	}
	for id, s := range d.Components {
		r.Components[id] = string(s)
		if s == "" {
			r.Components[id] = "affected"
		}
	}
	if !d.NextUpdateBy.IsZero() {
		mins := int(d.NextUpdateBy.Sub(a.now()).Round(time.Minute).Minutes())
		for _, m := range []int{15, 30, 60, 120, 240} {
			if mins <= m {
				r.NextUpdate = strconv.Itoa(m)
				break
			}
		}
	}
	loc := a.srv.opts.Page.Location
	if !d.ScheduledFor.IsZero() {
		r.Start = d.ScheduledFor.In(loc).Format("2006-01-02T15:04")
		r.End = d.ScheduledUntil.In(loc).Format("2006-01-02T15:04")
	}
	return a.renderMessageForm(c, fiber.StatusOK, r, d.ID, nil)
}

func (a *admin) publishDraftForm(c *fiber.Ctx) error {
	ctx, cancel := bound(c)
	defer cancel()
	p, err := a.publish(ctx, c.Params("id"), sessionOf(c).User.Email)
	if errors.Is(err, data.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "There is no such draft.")
	}
	if errors.Is(err, data.ErrConflict) {
		return fiber.NewError(fiber.StatusConflict, "This draft was already published (or discarded), so it was not published again. "+
			"Open the incident to see what is public.")
	}
	if err != nil {
		return err
	}
	done := "published"
	if !p.Draft.Notify {
		done = "published-silent"
	}
	return c.Redirect("/admin/incidents/"+p.Incident.ID+"?done="+done, fiber.StatusSeeOther)
}

func (a *admin) discardDraftForm(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	if err := st.DiscardDraft(ctx, c.Params("id"), sessionOf(c).User.Email); err != nil {
		if errors.Is(err, data.ErrNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "There is no such draft.")
		}
		if errors.Is(err, data.ErrConflict) {
			return fiber.NewError(fiber.StatusConflict, "This draft was already published or discarded.")
		}
		return err
	}
	return c.Redirect("/admin/incidents?done=discarded", fiber.StatusSeeOther)
}

// --- templates ---

func (a *admin) templatesView(c *fiber.Ctx, form templateForm) (*workView, error) {
	ctx, cancel := bound(c)
	defer cancel()
	all, err := a.messageTemplates(ctx)
	if err != nil {
		return nil, err
	}
	tv := &templatesView{Form: form, Variables: data.TemplateVariables}
	for _, t := range all {
		tv.List = append(tv.List, templateRow{ID: t.ID, Name: t.Name, Kind: string(t.Kind), Status: t.Status.Label(), Origin: t.Origin,
			Title: t.Title, Body: t.Body, Deletable: t.Origin == "admin"})
	}
	if tv.Form.Kind == "" {
		tv.Form.Kind = string(data.KindIncident)
	}
	for _, k := range []data.Kind{data.KindIncident, data.KindMaintenance} {
		tv.Kinds = append(tv.Kinds, option{Value: string(k), Label: strings.ToUpper(string(k)[:1]) + string(k)[1:], Selected: string(k) == tv.Form.Kind})
	}
	for _, s := range []data.IncidentStatus{data.Investigating, data.Identified, data.Monitoring, data.Resolved, data.Postmortem,
		data.Scheduled, data.InProgress, data.Verifying, data.Completed} {
		tv.Statuses = append(tv.Statuses, option{Value: string(s), Label: s.Label(), Selected: string(s) == tv.Form.Status})
	}
	tv.CompStats = []option{{Value: "", Label: "Leave components as they are", Selected: tv.Form.ComponentStatus == ""}}
	for _, cs := range data.ComponentStatuses {
		tv.CompStats = append(tv.CompStats, option{Value: string(cs), Label: cs.Label(), Selected: string(cs) == tv.Form.ComponentStatus})
	}
	return &workView{CanEdit: true, Templates: tv}, nil
}

func (a *admin) templatesPage(c *fiber.Ctx) error {
	wv, err := a.templatesView(c, templateForm{})
	if err != nil {
		return err
	}
	v := a.base(c, "Message templates")
	v.Work = wv
	v.Notice = workNotice(c.Query("done"))
	return a.render(c, "templates.html", v)
}

var templateFields = map[string]string{"id": "t-id", "name": "t-name", "kind": "t-kind", "status": "t-status", "component_status": "t-cstatus",
	"severity": "t-name", "title": "t-title", "body": "t-body", "": "t-body"}

// saveTemplate checks that a template made in the admin does not take the
// id of a built-in or configured one, and saves it.
func (a *admin) saveTemplate(c *fiber.Ctx, t data.MessageTemplate, actor string) (data.MessageTemplate, error) {
	for _, b := range a.builtin {
		if b.ID == t.ID {
			return t, data.Invalid("id", "%q is the id of a %s template; choose another", t.ID, b.Origin)
		}
	}
	st, err := a.workflow()
	if err != nil {
		return t, err
	}
	ctx, cancel := bound(c)
	defer cancel()
	return st.SaveTemplate(ctx, t, actor)
}

func (a *admin) saveTemplateForm(c *fiber.Ctx) error {
	f := templateForm{ID: strings.TrimSpace(c.FormValue("id")), Name: strings.TrimSpace(c.FormValue("name")), Kind: c.FormValue("kind"),
		Status: c.FormValue("status"), ComponentStatus: c.FormValue("component_status"), Title: c.FormValue("title"), Body: c.FormValue("body")}
	t := data.MessageTemplate{ID: f.ID, Name: f.Name, Kind: data.Kind(f.Kind), Status: data.IncidentStatus(f.Status),
		ComponentStatus: data.ComponentStatus(f.ComponentStatus), Title: f.Title, Body: f.Body}
	if _, err := a.saveTemplate(c, t, sessionOf(c).User.Email); err != nil {
		wv, verr := a.templatesView(c, f)
		if verr != nil {
			return verr
		}
		v := a.base(c, "Message templates")
		v.Work = wv
		return a.invalid(c, "templates.html", v, err, templateFields)
	}
	return c.Redirect("/admin/templates?done=template-saved", fiber.StatusSeeOther)
}

func (a *admin) deleteTemplateForm(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	if err := st.DeleteTemplate(ctx, c.Params("id"), sessionOf(c).User.Email); err != nil {
		if errors.Is(err, data.ErrNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "There is no template made here with this id; built-in and configured ones cannot be deleted.")
		}
		return err
	}
	return c.Redirect("/admin/templates?done=template-deleted", fiber.StatusSeeOther)
}
