package server

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// The incident workflow's API: the same drafts, previews and publishes as
// the UI, in JSON. A create may publish at once ("publish": true); without
// it the answer carries the draft and its preview, and
// POST /drafts/{id}/publish publishes it.

type apiMessage struct {
	Title          string            `json:"title,omitempty"`
	Template       string            `json:"template,omitempty"`
	Status         string            `json:"status,omitempty"`
	Severity       string            `json:"severity,omitempty"`
	Impact         string            `json:"impact,omitempty"`
	Body           string            `json:"body,omitempty"`
	Components     map[string]string `json:"components,omitempty"`
	Variables      map[string]string `json:"variables,omitempty"`
	NextUpdateBy   *time.Time        `json:"next_update_by,omitempty"`
	Notify         *bool             `json:"notify,omitempty"`
	Note           string            `json:"note,omitempty"`
	ScheduledFor   *time.Time        `json:"scheduled_for,omitempty"`
	ScheduledUntil *time.Time        `json:"scheduled_until,omitempty"`
	AutoTransition *bool             `json:"auto_transition,omitempty"`
	Publish        bool              `json:"publish,omitempty"`
}

type apiPreview struct {
	PageHTML     string          `json:"page_html"`
	Notify       bool            `json:"notify"`
	EmailSubject string          `json:"email_subject"`
	EmailText    string          `json:"email_text"`
	Webhook      json.RawMessage `json:"webhook" openapi:"any"`
}

type apiDraftJSON struct {
	ID             string            `json:"id"`
	Kind           string            `json:"kind"`
	IncidentID     string            `json:"incident_id,omitempty"`
	Title          string            `json:"title"`
	Status         string            `json:"status"`
	Severity       string            `json:"severity,omitempty"`
	Impact         string            `json:"impact"`
	Body           string            `json:"body"`
	Components     map[string]string `json:"components"`
	NextUpdateBy   *time.Time        `json:"next_update_by"`
	Notify         bool              `json:"notify"`
	Template       string            `json:"template,omitempty"`
	Note           string            `json:"note,omitempty"`
	ScheduledFor   *time.Time        `json:"scheduled_for"`
	ScheduledUntil *time.Time        `json:"scheduled_until"`
	AutoTransition bool              `json:"auto_transition"`
	ProposedBy     string            `json:"proposed_by,omitempty"`
	CreatedBy      string            `json:"created_by"`
	CreatedAt      time.Time         `json:"created_at"`
	PublishedAt    *time.Time        `json:"published_at"`
	PublishedAs    string            `json:"published_incident_id,omitempty"`
	Preview        *apiPreview       `json:"preview,omitempty"`
}

type apiUpdateJSON struct {
	ID         string            `json:"id"`
	Status     string            `json:"status"`
	Body       string            `json:"body"`
	BodyHTML   string            `json:"body_html"`
	DisplayAt  time.Time         `json:"display_at"`
	Components map[string]string `json:"components"`
}

type apiNoteJSON struct {
	ID        string    `json:"id"`
	Body      string    `json:"body"`
	Actor     string    `json:"actor"`
	CreatedAt time.Time `json:"created_at"`
}

type apiIncidentJSON struct {
	ID             string          `json:"id"`
	Kind           string          `json:"kind"`
	Name           string          `json:"name"`
	Status         string          `json:"status"`
	Impact         string          `json:"impact"`
	Severity       string          `json:"severity,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	ResolvedAt     *time.Time      `json:"resolved_at"`
	NextUpdateBy   *time.Time      `json:"next_update_by"`
	Overdue        bool            `json:"overdue"`
	ScheduledFor   *time.Time      `json:"scheduled_for"`
	ScheduledUntil *time.Time      `json:"scheduled_until"`
	AutoTransition bool            `json:"auto_transition"`
	Components     []string        `json:"components"`
	Postmortem     string          `json:"postmortem,omitempty"`
	Updates        []apiUpdateJSON `json:"updates"`
	// Notes are internal: they never reach customers.
	Notes []apiNoteJSON `json:"notes"`
}

type apiIncidentList struct {
	Incidents []apiIncidentJSON `json:"incidents"`
}

type apiDraftList struct {
	Drafts []apiDraftJSON `json:"drafts"`
}

type apiDraftResult struct {
	Draft    apiDraftJSON     `json:"draft"`
	Incident *apiIncidentJSON `json:"incident"` // set once published
}

type apiNoteCreate struct {
	Body string `json:"body"`
}

type apiPostmortem struct {
	Body    string `json:"body"`
	Notify  *bool  `json:"notify,omitempty"`
	Publish bool   `json:"publish,omitempty"`
}

type apiTemplateJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Kind            string `json:"kind"`
	Status          string `json:"status"`
	ComponentStatus string `json:"component_status,omitempty"`
	Severity        string `json:"severity,omitempty"`
	Title           string `json:"title"`
	Body            string `json:"body"`
	Origin          string `json:"origin,omitempty"`
}

type apiTemplateList struct {
	Templates []apiTemplateJSON `json:"templates"`
	Variables []string          `json:"variables"`
}

func (a *admin) incidentAPIRoutes() []apiRoute {
	id := []apiParam{{Name: "id", In: "path", Type: "string", Description: "incident or maintenance id"}}
	did := []apiParam{{Name: "id", In: "path", Type: "string", Description: "draft id"}}
	tid := []apiParam{{Name: "id", In: "path", Type: "string", Description: "template id"}}
	open := []apiParam{{Name: "open", In: "query", Type: "string", Description: "1 for open ones only"}}
	return append([]apiRoute{
		{Method: "GET", Path: "/incidents", Scope: data.ScopeIncidentsWrite, Summary: "Incidents, newest first, with severity, next update and internal notes",
			Params: open, Response: apiIncidentList{}, Status: 200, Handler: a.apiListIncidents(data.KindIncident)},
		{Method: "POST", Path: "/incidents", Scope: data.ScopeIncidentsWrite,
			Summary: "Draft a new incident (from a template and variables, or a Markdown body); with publish: true, publish it at once",
			Request: apiMessage{}, Response: apiDraftResult{}, Status: 201, Idempotent: true, Handler: a.apiCreateMessage(data.KindIncident)},
		{Method: "GET", Path: "/incidents/{id}", Scope: data.ScopeIncidentsWrite, Summary: "One incident or maintenance, with its updates and internal notes",
			Params: id, Response: apiIncidentJSON{}, Status: 200, Handler: a.apiGetIncident},
		{Method: "POST", Path: "/incidents/{id}/updates", Scope: data.ScopeIncidentsWrite,
			Summary: "Draft an update on an incident (a new status, components, message); with publish: true, publish it at once",
			Params:  id, Request: apiMessage{}, Response: apiDraftResult{}, Status: 201, Idempotent: true, Handler: a.apiCreateUpdate(data.KindIncident)},
		{Method: "POST", Path: "/incidents/{id}/notes", Scope: data.ScopeIncidentsWrite, Summary: "Add an internal note; it never reaches customers",
			Params: id, Request: apiNoteCreate{}, Response: apiNoteJSON{}, Status: 201, Handler: a.apiAddNote},
		{Method: "PUT", Path: "/incidents/{id}/postmortem", Scope: data.ScopeIncidentsWrite,
			Summary: "Draft the postmortem of a resolved incident (Markdown); with publish: true, publish it at once",
			Params:  id, Request: apiPostmortem{}, Response: apiDraftResult{}, Status: 201, Handler: a.apiPostmortem},
		{Method: "GET", Path: "/maintenance", Scope: data.ScopeMaintenanceWrite, Summary: "Scheduled maintenance, newest first",
			Params: open, Response: apiIncidentList{}, Status: 200, Handler: a.apiListIncidents(data.KindMaintenance)},
		{Method: "POST", Path: "/maintenance", Scope: data.ScopeMaintenanceWrite,
			Summary: "Draft a maintenance window (scheduled_for, scheduled_until, components; auto_transition defaults to true); with publish: true, publish it",
			Request: apiMessage{}, Response: apiDraftResult{}, Status: 201, Idempotent: true, Handler: a.apiCreateMessage(data.KindMaintenance)},
		{Method: "GET", Path: "/maintenance/{id}", Scope: data.ScopeMaintenanceWrite, Summary: "One maintenance window with its updates",
			Params: id, Response: apiIncidentJSON{}, Status: 200, Handler: a.apiGetIncident},
		{Method: "POST", Path: "/maintenance/{id}/updates", Scope: data.ScopeMaintenanceWrite,
			Summary: "Draft an update on a maintenance (in_progress, verifying, completed — completing early cancels); with publish: true, publish it",
			Params:  id, Request: apiMessage{}, Response: apiDraftResult{}, Status: 201, Idempotent: true, Handler: a.apiCreateUpdate(data.KindMaintenance)},
		{Method: "GET", Path: "/drafts", Scope: data.ScopeIncidentsWrite, Summary: "Pending drafts, newest first (those proposed by detection have proposed_by)",
			Response: apiDraftList{}, Status: 200, Handler: a.apiListDrafts},
		{Method: "GET", Path: "/drafts/{id}", Summary: "A draft with its preview: the page's HTML, the email and the webhook body. Needs incidents:write or maintenance:write by the draft's kind",
			Params: did, Response: apiDraftJSON{}, Status: 200, Handler: a.apiGetDraft},
		{Method: "PUT", Path: "/drafts/{id}", Summary: "Replace what a pending draft says. Needs incidents:write or maintenance:write by the draft's kind",
			Params: did, Request: apiMessage{}, Response: apiDraftJSON{}, Status: 200, Handler: a.apiUpdateDraft},
		{Method: "POST", Path: "/drafts/{id}/publish", Summary: "Publish a draft, once: a second publish is 409. Needs incidents:write or maintenance:write by the draft's kind",
			Params: did, Response: apiDraftResult{}, Status: 200, Handler: a.apiPublishDraft},
		{Method: "DELETE", Path: "/drafts/{id}", Summary: "Discard a pending draft. Needs incidents:write or maintenance:write by the draft's kind",
			Params: did, Response: apiDraftJSON{}, Status: 200, Handler: a.apiDiscardDraft},
		{Method: "GET", Path: "/templates", Scope: data.ScopeIncidentsWrite, Summary: "Every message template (built-in, configured, made here) and the variables they may use",
			Response: apiTemplateList{}, Status: 200, Handler: a.apiListTemplates},
		{Method: "PUT", Path: "/templates/{id}", Scope: data.ScopeIncidentsWrite, Summary: "Create or replace a template made here (not a built-in or configured one)",
			Params: tid, Request: apiTemplateJSON{}, Response: apiTemplateJSON{}, Status: 200, Handler: a.apiSaveTemplate},
		{Method: "DELETE", Path: "/templates/{id}", Scope: data.ScopeIncidentsWrite, Summary: "Delete a template made here",
			Params: tid, Response: apiTemplateJSON{}, Status: 200, Handler: a.apiDeleteTemplate},
	}, a.seriesAPIRoutes()...)
}

func scopeOf(k data.Kind) data.Scope {
	if k == data.KindMaintenance {
		return data.ScopeMaintenanceWrite
	}
	return data.ScopeIncidentsWrite
}

// requireScope refuses a token without sc, as authenticate would.
func requireScope(c *fiber.Ctx, sc data.Scope) error {
	t := tokenOf(c)
	if tokenAllows(*t, sc) {
		return nil
	}
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="statusd admin API", error="insufficient_scope", scope="`+string(sc)+`"`)
	return fiber.NewError(fiber.StatusForbidden, "this token lacks the "+string(sc)+" scope")
}

func (a *admin) messageFromAPI(req apiMessage, kind data.Kind, incidentID string, actor string) messageInput {
	in := messageInput{Kind: kind, IncidentID: incidentID, Template: req.Template, Title: req.Title, Status: req.Status, Severity: req.Severity,
		Impact: req.Impact, Body: req.Body, Components: req.Components, Variables: req.Variables, Notify: true, Note: req.Note,
		AutoTransition: true, Actor: actor}
	if in.Components == nil {
		in.Components = map[string]string{}
	}
	if kind == data.KindMaintenance {
		for id, s := range in.Components {
			if s == "" {
				in.Components[id] = "affected"
			}
		}
	}
	if req.Notify != nil {
		in.Notify = *req.Notify
	}
	if req.AutoTransition != nil {
		in.AutoTransition = *req.AutoTransition
	}
	if req.NextUpdateBy != nil {
		in.NextUpdateBy = *req.NextUpdateBy
	}
	if req.ScheduledFor != nil {
		in.ScheduledFor = *req.ScheduledFor
	}
	if req.ScheduledUntil != nil {
		in.ScheduledUntil = *req.ScheduledUntil
	}
	return in
}

// apiError404 turns a store's not-found into a message naming what.
func notFound(err error, what string) error {
	if errors.Is(err, data.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "there is no "+what+" with this id")
	}
	return err
}

// draftAndMaybePublish saves a draft from in and, when asked, publishes it.
func (a *admin) draftAndMaybePublish(c *fiber.Ctx, in messageInput, publish bool, idem *data.Idempotency) (apiDraftResult, error) {
	st, err := a.workflow()
	if err != nil {
		return apiDraftResult{}, err
	}
	ctx, cancel := bound(c)
	defer cancel()
	di, err := a.draftInput(ctx, in)
	if err != nil {
		return apiDraftResult{}, notFound(err, "incident")
	}
	di.Idempotency = idem
	d, err := st.CreateDraft(ctx, di)
	if err != nil {
		return apiDraftResult{}, conflictMessage(notFound(err, "incident"))
	}
	var res apiDraftResult
	if publish {
		p, err := a.publish(ctx, d.ID, in.Actor)
		if err != nil {
			return apiDraftResult{}, conflictMessage(err)
		}
		res.Draft = a.draftJSON(p.Draft)
		ij, err := a.incidentJSON(c, p.Incident)
		if err != nil {
			return res, err
		}
		res.Incident = &ij
		return res, nil
	}
	res.Draft = a.draftJSON(d)
	if res.Draft.Preview, err = a.apiPreview(c, d); err != nil {
		return res, err
	}
	return res, nil
}

func (a *admin) apiCreateMessage(kind data.Kind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req apiMessage
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		in := a.messageFromAPI(req, kind, "", apiActor(c))
		return a.idempotent(c, http201, func(idem *data.Idempotency) (any, error) {
			return a.draftAndMaybePublish(c, in, req.Publish, idem)
		}, a.replayedDraft)
	}
}

// replayedDraft is the response stored for an Idempotency-Key: the draft
// as the create made it. A retry gets it back and neither drafts nor
// publishes again; if the first try published, the draft says so when
// read (GET /drafts/{id}).
func (a *admin) replayedDraft(created any) any {
	return apiDraftResult{Draft: a.draftJSON(created.(data.Draft))}
}

func (a *admin) apiCreateUpdate(kind data.Kind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req apiMessage
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		st, err := a.workflow()
		if err != nil {
			return err
		}
		ctx, cancel := bound(c)
		inc, err := st.Incident(ctx, c.Params("id"))
		cancel()
		if err != nil {
			return notFound(err, string(kind))
		}
		if inc.Kind != kind {
			return fiber.NewError(fiber.StatusNotFound, "there is no "+string(kind)+" with this id (it is a "+string(inc.Kind)+")")
		}
		in := a.messageFromAPI(req, kind, inc.ID, apiActor(c))
		return a.idempotent(c, http201, func(idem *data.Idempotency) (any, error) {
			return a.draftAndMaybePublish(c, in, req.Publish, idem)
		}, a.replayedDraft)
	}
}

func (a *admin) apiPostmortem(c *fiber.Ctx) error {
	var req apiPostmortem
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in := a.messageFromAPI(apiMessage{Status: string(data.Postmortem), Body: req.Body, Notify: req.Notify}, data.KindIncident, c.Params("id"), apiActor(c))
	res, err := a.draftAndMaybePublish(c, in, req.Publish, nil)
	if err != nil {
		return err
	}
	return c.Status(http201).JSON(res)
}

func (a *admin) apiListIncidents(kind data.Kind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		st, err := a.workflow()
		if err != nil {
			return err
		}
		ctx, cancel := bound(c)
		defer cancel()
		list, err := st.Incidents(ctx, data.IncidentFilter{Kind: kind, Open: c.Query("open") == "1"})
		if err != nil {
			return err
		}
		out := apiIncidentList{Incidents: []apiIncidentJSON{}}
		for _, in := range list {
			ij, err := a.incidentJSON(c, in)
			if err != nil {
				return err
			}
			out.Incidents = append(out.Incidents, ij)
		}
		return c.JSON(out)
	}
}

func (a *admin) apiGetIncident(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	in, err := st.Incident(ctx, c.Params("id"))
	if err != nil {
		return notFound(err, "incident or maintenance")
	}
	if err := requireScope(c, scopeOf(in.Kind)); err != nil {
		return err
	}
	ij, err := a.incidentJSON(c, in)
	if err != nil {
		return err
	}
	return c.JSON(ij)
}

func (a *admin) apiAddNote(c *fiber.Ctx) error {
	var req apiNoteCreate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	st, err := a.workflow()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	n, err := st.AddNote(ctx, c.Params("id"), strings.TrimSpace(req.Body), apiActor(c))
	if err != nil {
		return notFound(err, "incident or maintenance")
	}
	return c.Status(http201).JSON(apiNoteJSON{ID: n.ID, Body: n.Body, Actor: n.Actor, CreatedAt: n.CreatedAt})
}

// apiDraft loads the draft in the path and checks the token may act on its
// kind.
func (a *admin) apiDraft(c *fiber.Ctx) (data.Draft, error) {
	st, err := a.workflow()
	if err != nil {
		return data.Draft{}, err
	}
	ctx, cancel := bound(c)
	defer cancel()
	d, err := st.Draft(ctx, c.Params("id"))
	if err != nil {
		return d, notFound(err, "draft")
	}
	return d, requireScope(c, scopeOf(d.Kind))
}

func (a *admin) apiListDrafts(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	t := tokenOf(c)
	if !tokenAllows(*t, data.ScopeIncidentsWrite) && !tokenAllows(*t, data.ScopeMaintenanceWrite) {
		return requireScope(c, data.ScopeIncidentsWrite)
	}
	ctx, cancel := bound(c)
	defer cancel()
	list, err := st.Drafts(ctx, data.DraftFilter{Pending: true})
	if err != nil {
		return err
	}
	out := apiDraftList{Drafts: []apiDraftJSON{}}
	for _, d := range list {
		if tokenAllows(*t, scopeOf(d.Kind)) {
			out.Drafts = append(out.Drafts, a.draftJSON(d))
		}
	}
	return c.JSON(out)
}

func (a *admin) apiGetDraft(c *fiber.Ctx) error {
	d, err := a.apiDraft(c)
	if err != nil {
		return err
	}
	dj := a.draftJSON(d)
	if d.Pending() {
		if dj.Preview, err = a.apiPreview(c, d); err != nil {
			return err
		}
	}
	return c.JSON(dj)
}

func (a *admin) apiUpdateDraft(c *fiber.Ctx) error {
	d, err := a.apiDraft(c)
	if err != nil {
		return err
	}
	var req apiMessage
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in := a.messageFromAPI(req, d.Kind, d.IncidentID, apiActor(c))
	ctx, cancel := bound(c)
	defer cancel()
	di, err := a.draftInput(ctx, in)
	if err != nil {
		return err
	}
	nd, err := a.incidents.UpdateDraft(ctx, d.ID, di)
	if err != nil {
		return conflictMessage(err)
	}
	dj := a.draftJSON(nd)
	if dj.Preview, err = a.apiPreview(c, nd); err != nil {
		return err
	}
	return c.JSON(dj)
}

func (a *admin) apiPublishDraft(c *fiber.Ctx) error {
	d, err := a.apiDraft(c)
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	p, err := a.publish(ctx, d.ID, apiActor(c))
	if errors.Is(err, data.ErrConflict) && !d.Pending() {
		return fiber.NewError(fiber.StatusConflict, "this draft was already published (or discarded); it was not published again")
	}
	if err != nil {
		return conflictMessage(err)
	}
	ij, err := a.incidentJSON(c, p.Incident)
	if err != nil {
		return err
	}
	return c.JSON(apiDraftResult{Draft: a.draftJSON(p.Draft), Incident: &ij})
}

func (a *admin) apiDiscardDraft(c *fiber.Ctx) error {
	d, err := a.apiDraft(c)
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	if err := a.incidents.DiscardDraft(ctx, d.ID, apiActor(c)); err != nil {
		return conflictMessage(err)
	}
	if d, err = a.incidents.Draft(ctx, d.ID); err != nil {
		return err
	}
	return c.JSON(a.draftJSON(d))
}

func (a *admin) apiListTemplates(c *fiber.Ctx) error {
	ctx, cancel := bound(c)
	defer cancel()
	all, err := a.messageTemplates(ctx)
	if err != nil {
		return err
	}
	out := apiTemplateList{Templates: []apiTemplateJSON{}}
	for _, t := range all {
		out.Templates = append(out.Templates, templateJSON(t))
	}
	for _, v := range data.TemplateVariables {
		out.Variables = append(out.Variables, v.Name)
	}
	return c.JSON(out)
}

func templateJSON(t data.MessageTemplate) apiTemplateJSON {
	return apiTemplateJSON{ID: t.ID, Name: t.Name, Kind: string(t.Kind), Status: string(t.Status), ComponentStatus: string(t.ComponentStatus),
		Severity: string(t.Severity), Title: t.Title, Body: t.Body, Origin: t.Origin}
}

func (a *admin) apiSaveTemplate(c *fiber.Ctx) error {
	var req apiTemplateJSON
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != c.Params("id") {
		return data.Invalid("id", "the body's id %q differs from the path's", req.ID)
	}
	t := data.MessageTemplate{ID: c.Params("id"), Name: strings.TrimSpace(req.Name), Kind: data.Kind(req.Kind), Status: data.IncidentStatus(req.Status),
		ComponentStatus: data.ComponentStatus(req.ComponentStatus), Severity: data.Severity(req.Severity), Title: req.Title, Body: req.Body}
	saved, err := a.saveTemplate(c, t, apiActor(c))
	if err != nil {
		return err
	}
	return c.JSON(templateJSON(saved))
}

func (a *admin) apiDeleteTemplate(c *fiber.Ctx) error {
	st, err := a.workflow()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	all, err := st.Templates(ctx)
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.ID == c.Params("id") {
			if err := st.DeleteTemplate(ctx, t.ID, apiActor(c)); err != nil {
				return err
			}
			return c.JSON(templateJSON(t))
		}
	}
	return fiber.NewError(fiber.StatusNotFound, "there is no template made here with this id; built-in and configured ones cannot be deleted")
}

// --- JSON shapes ---

func (a *admin) draftJSON(d data.Draft) apiDraftJSON {
	j := apiDraftJSON{ID: d.ID, Kind: string(d.Kind), IncidentID: d.IncidentID, Title: d.Name, Status: string(d.Status),
		Severity: string(d.Severity), Impact: string(d.Impact), Body: d.Body, Components: map[string]string{},
		NextUpdateBy: timePtr(d.NextUpdateBy), Notify: d.Notify, Template: d.TemplateID, Note: d.Note,
		ScheduledFor: timePtr(d.ScheduledFor), ScheduledUntil: timePtr(d.ScheduledUntil), AutoTransition: d.AutoTransition,
		ProposedBy: d.ProposedBy, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC(), PublishedAt: timePtr(d.PublishedAt),
		PublishedAs: d.PublishedIncidentID}
	for id, s := range d.Components {
		j.Components[id] = string(s)
	}
	return j
}

func (a *admin) apiPreview(c *fiber.Ctx, d data.Draft) (*apiPreview, error) {
	ctx, cancel := bound(c)
	defer cancel()
	p, err := a.preview(ctx, d)
	if err != nil {
		return nil, err
	}
	return &apiPreview{PageHTML: string(p.PageHTML), Notify: p.Notify, EmailSubject: p.Subject, EmailText: p.Email, Webhook: json.RawMessage(p.Webhook)}, nil
}

func (a *admin) incidentJSON(c *fiber.Ctx, in data.Incident) (apiIncidentJSON, error) {
	ctx, cancel := bound(c)
	defer cancel()
	det, err := a.incidents.Details(ctx, in.ID)
	if err != nil {
		return apiIncidentJSON{}, err
	}
	d := det[in.ID]
	j := apiIncidentJSON{ID: in.ID, Kind: string(in.Kind), Name: in.Name, Status: string(in.Status), Impact: string(in.Impact),
		Severity: string(d.Severity), CreatedAt: in.CreatedAt.UTC(), ResolvedAt: timePtr(in.ResolvedAt), NextUpdateBy: timePtr(d.NextUpdateBy),
		Overdue: d.Overdue(in, a.now()), ScheduledFor: timePtr(in.ScheduledFor), ScheduledUntil: timePtr(in.ScheduledUntil),
		AutoTransition: in.AutoTransition, Components: append([]string{}, in.ComponentIDs...), Postmortem: d.Postmortem,
		Updates: []apiUpdateJSON{}, Notes: []apiNoteJSON{}}
	for _, u := range in.Updates {
		uj := apiUpdateJSON{ID: u.ID, Status: string(u.Status), Body: u.Body, BodyHTML: u.BodyHTML, DisplayAt: u.DisplayAt.UTC(), Components: map[string]string{}}
		for _, af := range u.Affected {
			uj.Components[af.ComponentID] = string(af.NewStatus)
		}
		j.Updates = append(j.Updates, uj)
	}
	for _, n := range d.Notes {
		j.Notes = append(j.Notes, apiNoteJSON{ID: n.ID, Body: n.Body, Actor: n.Actor, CreatedAt: n.CreatedAt.UTC()})
	}
	return j, nil
}
