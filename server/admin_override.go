package server

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// A component override is the "override" status input: a person's explicit
// status that wins over incidents, maintenance and detection until cleared.
// The UI and the API both go through setOverride and clearOverride.

// whyText says in words what decided a component's status.
func whyText(c data.Component) string {
	if c.StatusSource == "" {
		return "No reported problem."
	}
	return because(c)
}

func (a *admin) componentPage(c *fiber.Ctx) error {
	return a.renderComponent(c, fiber.StatusOK, overrideForm{}, nil)
}

// renderComponent shows a component, its status inputs and the override
// form; verr, if set, is shown as the form's error with what was typed.
func (a *admin) renderComponent(c *fiber.Ctx, code int, form overrideForm, verr error) error {
	comp, names, err := a.findComponent(c, c.Params("id"))
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	ins, err := a.store.Inputs(ctx, comp.ID)
	if err != nil {
		return err
	}
	v := a.base(c, comp.Name)
	pv := &componentPageView{Component: a.componentView(comp, names), Form: form, Supported: !comp.IsGroup,
		CanEdit: !comp.IsGroup && can(sessionOf(c).User.Role, permOverride)}
	for i, in := range ins {
		iv := inputView{Source: in.Source.Label(), Key: in.Key, Status: statusOf(in.Status), Reason: in.Reason, Actor: in.Actor,
			At: a.srv.timeView(in.At), Decides: i == 0}
		pv.Inputs = append(pv.Inputs, iv)
		if in.Source == data.SourceOverride {
			pv.Override = &iv
		}
	}
	if pv.Form.Status == "" {
		pv.Form.Status = string(comp.Status)
	}
	for _, st := range data.ComponentStatuses {
		pv.Statuses = append(pv.Statuses, statusOf(st))
	}
	v.Component = pv
	v.Notice = noticeText(c.Query("done"))
	if verr != nil {
		return a.invalid(c, "component.html", v, verr, map[string]string{"status": "status", "reason": "reason", "": "status"})
	}
	return a.renderStatus(c, code, "component.html", v)
}

func (a *admin) overrideRoutes(g fiber.Router) {
	g.Post("/components/:id/override", a.require(permOverride, a.setOverrideForm))
	g.Post("/components/:id/override/clear", a.require(permOverride, a.clearOverrideForm))
}

func (a *admin) setOverrideForm(c *fiber.Ctx) error {
	form := overrideForm{Status: c.FormValue("status"), Reason: strings.TrimSpace(c.FormValue("reason"))}
	err := a.setOverride(c, c.Params("id"), form.Status, form.Reason, sessionOf(c).User.Email)
	if err != nil {
		if asInvalid(err, new(*data.InvalidError)) {
			return a.renderComponent(c, fiber.StatusUnprocessableEntity, form, err)
		}
		return err
	}
	return c.Redirect("/admin/components/"+c.Params("id")+"?done=override-set", fiber.StatusSeeOther)
}

func (a *admin) clearOverrideForm(c *fiber.Ctx) error {
	if err := a.clearOverride(c, c.Params("id"), "", sessionOf(c).User.Email); err != nil {
		return err
	}
	return c.Redirect("/admin/components/"+c.Params("id")+"?done=override-cleared", fiber.StatusSeeOther)
}

// setOverride validates and stores an override. A reason is required: the
// people who read the page and the audit log later need it.
func (a *admin) setOverride(c *fiber.Ctx, id, status, reason, actor string) error {
	st, err := data.ParseComponentStatus(status)
	if err != nil {
		return err
	}
	if err := data.ValidateText("reason", reason, 500, true, false); err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	_, err = a.store.SetInputs(ctx, []data.Input{{ComponentID: id, Source: data.SourceOverride, Status: st, Reason: reason, Actor: actor}})
	return err
}

func (a *admin) clearOverride(c *fiber.Ctx, id, reason, actor string) error {
	if reason == "" {
		reason = "override cleared"
	}
	if err := data.ValidateText("reason", reason, 500, false, false); err != nil {
		return err
	}
	if _, _, err := a.findComponent(c, id); err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	_, err := a.store.ClearInput(ctx, id, data.SourceOverride, "", actor, reason)
	return err
}

// --- API ---

type apiInput struct {
	Source string    `json:"source"`
	Key    string    `json:"key,omitempty"`
	Status string    `json:"status"`
	Reason string    `json:"reason"`
	Actor  string    `json:"actor"`
	At     time.Time `json:"at"`
}

type apiOverrideState struct {
	ComponentID string `json:"component_id"`
	// Status is the component's effective status; DecidedBy the input that
	// decided it (null when none: operational by default).
	Status    string     `json:"status"`
	DecidedBy *apiInput  `json:"decided_by"`
	Override  *apiInput  `json:"override"`
	Inputs    []apiInput `json:"inputs"`
}

type apiOverrideSet struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (a *admin) overrideAPIRoutes() []apiRoute {
	id := []apiParam{{Name: "id", In: "path", Type: "string", Description: "component id"}}
	return []apiRoute{
		{Method: "GET", Path: "/components/{id}/override", Scope: data.ScopeComponentsWrite,
			Summary: "A component's status, what decided it, and its override if any", Params: id,
			Response: apiOverrideState{}, Status: 200, Handler: a.apiOverride},
		{Method: "PUT", Path: "/components/{id}/override", Scope: data.ScopeComponentsWrite,
			Summary: "Set the override: this status wins over incidents, maintenance and detection until cleared", Params: id,
			Request: apiOverrideSet{}, Response: apiOverrideState{}, Status: 200, Handler: a.apiSetOverride},
		{Method: "DELETE", Path: "/components/{id}/override", Scope: data.ScopeComponentsWrite,
			Summary:  "Clear the override; the component falls back to its other inputs",
			Params:   append(id, apiParam{Name: "reason", In: "query", Type: "string", Description: "why, for the history and audit log"}),
			Response: apiOverrideState{}, Status: 200, Handler: a.apiClearOverride},
	}
}

func inputJSON(in data.Input) *apiInput {
	return &apiInput{Source: string(in.Source), Key: in.Key, Status: string(in.Status), Reason: in.Reason, Actor: in.Actor, At: in.At.UTC()}
}

func (a *admin) overrideState(c *fiber.Ctx, id string) error {
	if _, _, err := a.findComponent(c, id); err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	ins, err := a.store.Inputs(ctx, id)
	if err != nil {
		return err
	}
	status, by := data.Resolve(ins)
	out := apiOverrideState{ComponentID: id, Status: string(status), Inputs: []apiInput{}}
	if by.Source != "" {
		out.DecidedBy = inputJSON(by)
	}
	for _, in := range ins {
		out.Inputs = append(out.Inputs, *inputJSON(in))
		if in.Source == data.SourceOverride {
			out.Override = inputJSON(in)
		}
	}
	return c.JSON(out)
}

func (a *admin) apiOverride(c *fiber.Ctx) error { return a.overrideState(c, c.Params("id")) }

func (a *admin) apiSetOverride(c *fiber.Ctx) error {
	var req apiOverrideSet
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := a.setOverride(c, c.Params("id"), req.Status, strings.TrimSpace(req.Reason), apiActor(c)); err != nil {
		return err
	}
	return a.overrideState(c, c.Params("id"))
}

func (a *admin) apiClearOverride(c *fiber.Ctx) error {
	if err := a.clearOverride(c, c.Params("id"), strings.TrimSpace(c.Query("reason")), apiActor(c)); err != nil {
		return err
	}
	return a.overrideState(c, c.Params("id"))
}
