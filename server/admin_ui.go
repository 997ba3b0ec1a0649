package server

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

func (a *admin) uiRoutes() {
	g := a.app.Group("/admin", a.loadSession, a.checkCSRF)
	g.Get(a.css.Path[len("/admin"):], a.stylesheet)
	g.Get("/login", a.loginPage)
	g.Post("/login", a.login)
	g.Post("/logout", a.require(permView, a.logout))
	g.Get("/", a.require(permView, a.dashboard))
	g.Get("/components/:id", a.require(permView, a.componentPage))
	a.overrideRoutes(g)
	a.incidentRoutes(g)
	a.subscriberRoutes(g)
	g.Get("/users", a.require(permUsers, a.usersPage))
	g.Post("/users", a.require(permUsers, a.createUser))
	// The account is a form field, not a path segment: an address may
	// hold characters (such as '/') that a path cannot carry safely.
	g.Post("/users/role", a.require(permUsers, a.changeRole))
	g.Post("/users/disable", a.require(permUsers, a.setDisabled(true)))
	g.Post("/users/enable", a.require(permUsers, a.setDisabled(false)))
	g.Get("/tokens", a.require(permTokens, a.tokensPage))
	g.Post("/tokens", a.require(permTokens, a.createTokenForm))
	g.Post("/tokens/:id/revoke", a.require(permTokens, a.revokeTokenForm))
	g.Get("/audit", a.require(permAudit, a.auditPage))
}

func (a *admin) stylesheet(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, a.css.ContentType)
	// Its name changes with its content, so it may be kept; the admin
	// default of no-store is for pages.
	c.Set(fiber.HeaderCacheControl, "private, max-age=31536000, immutable")
	return c.Send(a.css.Body)
}

// --- dashboard and components ---

func (a *admin) dashboard(c *fiber.Ctx) error {
	ctx, cancel := bound(c)
	defer cancel()
	snap, err := a.srv.store.Snapshot(ctx, data.SnapshotOptions{Days: 1, Location: a.srv.opts.Page.Location, Recent: 1, Limit: 1})
	if err != nil {
		return err
	}
	v := a.base(c, "Dashboard")
	dv := &dashboardView{}
	names := map[string]string{}
	for _, comp := range snap.Components {
		names[comp.ID] = comp.Name
	}
	for _, j := range snap.Journeys {
		jv := adminJourneyView{ID: j.ID, Name: j.Name}
		worst := data.Operational
		for _, comp := range snap.Components {
			if comp.JourneyID != j.ID {
				continue
			}
			cv := a.componentView(comp, names)
			if !comp.IsGroup {
				worst = worst.Worse(comp.Status)
			}
			jv.Components = append(jv.Components, cv)
		}
		jv.Status = statusOf(worst)
		dv.Journeys = append(dv.Journeys, jv)
	}
	v.Dashboard = dv
	if v.Work, err = a.dashboardWork(c); err != nil {
		return err
	}
	return a.render(c, "dashboard.html", v)
}

// componentView says what a component's status is and what decided it.
func (a *admin) componentView(comp data.Component, names map[string]string) adminComponentView {
	cv := adminComponentView{ID: comp.ID, Name: comp.Name, IsGroup: comp.IsGroup, Status: statusOf(comp.Status), Group: names[comp.GroupID]}
	if comp.IsGroup {
		cv.Why = "The worst status of its components."
		return cv
	}
	cv.Why, cv.Since = whyText(comp), a.srv.timeView(comp.StatusChangedAt)
	return cv
}

func (a *admin) findComponent(c *fiber.Ctx, id string) (data.Component, map[string]string, error) {
	ctx, cancel := bound(c)
	defer cancel()
	snap, err := a.srv.store.Snapshot(ctx, data.SnapshotOptions{Days: 1, Location: a.srv.opts.Page.Location, Recent: 1, Limit: 1})
	if err != nil {
		return data.Component{}, nil, err
	}
	names := map[string]string{}
	var found *data.Component
	for i, comp := range snap.Components {
		names[comp.ID] = comp.Name
		if comp.ID == id {
			found = &snap.Components[i]
		}
	}
	if found == nil {
		return data.Component{}, nil, fiber.NewError(fiber.StatusNotFound, "There is no component with the id "+strconv.Quote(id)+".")
	}
	return *found, names, nil
}

// --- users ---

var userFields = map[string]string{"email": "email", "role": "role", "password": "password", "": "email"}

func (a *admin) usersView(c *fiber.Ctx, form userForm) (*adminView, error) {
	ctx, cancel := bound(c)
	defer cancel()
	users, err := a.store.Users(ctx)
	if err != nil {
		return nil, err
	}
	v := a.base(c, "Users")
	uv := &usersView{Form: form}
	if uv.Form.Role == "" {
		uv.Form.Role = string(data.RoleComms)
	}
	for _, u := range users {
		uv.Users = append(uv.Users, *a.userView(u, sessionOf(c).User.ID))
	}
	for _, r := range data.Roles {
		uv.Roles = append(uv.Roles, roleOption{Value: string(r), Label: r.Label()})
	}
	v.Users = uv
	return v, nil
}

func (a *admin) usersPage(c *fiber.Ctx) error {
	v, err := a.usersView(c, userForm{})
	if err != nil {
		return err
	}
	v.Notice = noticeText(c.Query("done"))
	return a.render(c, "users.html", v)
}

// noticeText turns a redirect's ?done= into the message shown after it.
func noticeText(done string) string {
	return map[string]string{
		"user-created":     "The user was added. Give them their password in person or through a password manager.",
		"role-changed":     "The role was changed.",
		"user-disabled":    "The user was disabled and signed out everywhere.",
		"user-enabled":     "The user was enabled.",
		"token-revoked":    "The token was revoked. Requests with it are refused from now on.",
		"override-set":     "The override is in force. The public page shows it within seconds.",
		"override-cleared": "The override was cleared. The component's status is decided by the remaining inputs again.",
	}[done]
}

func (a *admin) createUser(c *fiber.Ctx) error {
	form := userForm{Email: strings.TrimSpace(c.FormValue("email")), Role: c.FormValue("role")}
	v, err := a.usersView(c, form)
	if err != nil {
		return err
	}
	pw := c.FormValue("password")
	role, err := data.ParseRole(form.Role)
	if err == nil {
		err = ValidatePassword(pw)
	}
	if err == nil {
		_, err = data.NormalizeEmail("email", form.Email)
	}
	if err != nil {
		return a.invalid(c, "users.html", v, err, userFields)
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	_, err = a.store.CreateUser(ctx, data.NewUser{Email: form.Email, Role: role, PasswordHash: hash, Actor: sessionOf(c).User.Email})
	if errors.Is(err, data.ErrConflict) {
		err = data.Invalid("email", "%s already has an account", form.Email)
	}
	if err != nil {
		return a.invalid(c, "users.html", v, err, userFields)
	}
	return c.Redirect("/admin/users?done=user-created", fiber.StatusSeeOther)
}

func (a *admin) emailParam(c *fiber.Ctx) (string, error) {
	e := strings.TrimSpace(c.FormValue("email"))
	if e == "" {
		return "", fiber.NewError(fiber.StatusBadRequest, "The form did not say which user.")
	}
	return e, nil
}

func (a *admin) changeRole(c *fiber.Ctx) error {
	email, err := a.emailParam(c)
	if err != nil {
		return err
	}
	role, err := data.ParseRole(c.FormValue("role"))
	if err == nil {
		err = a.updateUser(c, email, data.UserChange{Role: &role})
	}
	if err != nil {
		return a.userActionFailed(c, err)
	}
	return c.Redirect("/admin/users?done=role-changed", fiber.StatusSeeOther)
}

func (a *admin) setDisabled(disabled bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		email, err := a.emailParam(c)
		if err != nil {
			return err
		}
		if err := a.updateUser(c, email, data.UserChange{Disabled: &disabled}); err != nil {
			return a.userActionFailed(c, err)
		}
		if disabled {
			return c.Redirect("/admin/users?done=user-disabled", fiber.StatusSeeOther)
		}
		return c.Redirect("/admin/users?done=user-enabled", fiber.StatusSeeOther)
	}
}

func (a *admin) updateUser(c *fiber.Ctx, email string, ch data.UserChange) error {
	ctx, cancel := bound(c)
	defer cancel()
	ch.Actor = sessionOf(c).User.Email
	_, err := a.store.UpdateUser(ctx, email, ch)
	return err
}

// userActionFailed shows the users page with the reason a change to one
// user was refused.
func (a *admin) userActionFailed(c *fiber.Ctx, err error) error {
	if errors.Is(err, data.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "There is no such user.")
	}
	v, verr := a.usersView(c, userForm{})
	if verr != nil {
		return verr
	}
	return a.invalid(c, "users.html", v, err, map[string]string{"": "users"})
}

// --- API tokens ---

// tokenPrefix marks statusd tokens, so secret scanners and people can
// recognise one that leaked.
const tokenPrefix = "sdt_"

// newAPIToken makes a token's secret text and the digest that is stored.
func newAPIToken() (secret string, hash []byte) {
	raw, v := randomToken()
	return tokenPrefix + v, digest(raw)
}

var tokenFields = map[string]string{"name": "token-name", "scopes": "scopes", "": "token-name"}

func (a *admin) tokensView(c *fiber.Ctx, form tokenForm) (*adminView, error) {
	ctx, cancel := bound(c)
	defer cancel()
	tokens, err := a.store.APITokens(ctx)
	if err != nil {
		return nil, err
	}
	v := a.base(c, "API tokens")
	tv := &tokensView{Form: form}
	for _, t := range tokens {
		tv.Tokens = append(tv.Tokens, a.tokenView(t))
	}
	for _, sc := range data.Scopes {
		tv.Scopes = append(tv.Scopes, string(sc))
	}
	v.Tokens = tv
	return v, nil
}

func (a *admin) tokenView(t data.APIToken) tokenView {
	tv := tokenView{ID: t.ID, Name: t.Name, Owner: t.User.Email, Created: a.srv.timeView(t.CreatedAt),
		LastUsed: a.srv.timeView(t.LastUsedAt), LastIP: t.LastUsedIP, Revoked: a.srv.timeView(t.RevokedAt)}
	for _, sc := range t.Scopes {
		tv.Scopes = append(tv.Scopes, string(sc))
	}
	return tv
}

func (a *admin) tokensPage(c *fiber.Ctx) error {
	v, err := a.tokensView(c, tokenForm{})
	if err != nil {
		return err
	}
	v.Notice = noticeText(c.Query("done"))
	return a.render(c, "tokens.html", v)
}

func formValues(c *fiber.Ctx, key string) []string {
	var out []string
	for _, b := range c.Request().PostArgs().PeekMulti(key) {
		out = append(out, string(b))
	}
	return out
}

// createTokenForm creates a token and shows its secret on this one
// response, never again.
func (a *admin) createTokenForm(c *fiber.Ctx) error {
	form := tokenForm{Name: strings.TrimSpace(c.FormValue("name")), Scopes: formValues(c, "scope")}
	v, err := a.tokensView(c, form)
	if err != nil {
		return err
	}
	ss := sessionOf(c)
	scopes, err := data.ParseScopes(form.Scopes)
	if err != nil {
		return a.invalid(c, "tokens.html", v, err, tokenFields)
	}
	secret, hash := newAPIToken()
	ctx, cancel := bound(c)
	defer cancel()
	t, err := a.store.CreateAPIToken(ctx, data.NewAPIToken{Name: form.Name, UserID: ss.User.ID, Scopes: scopes, Hash: hash, Actor: ss.User.Email}, nil)
	if err != nil {
		return a.invalid(c, "tokens.html", v, err, tokenFields)
	}
	if v, err = a.tokensView(c, tokenForm{}); err != nil {
		return err
	}
	v.Tokens.Created = &createdToken{ID: t.ID, Name: t.Name, Secret: secret}
	return a.renderStatus(c, fiber.StatusCreated, "tokens.html", v)
}

func (a *admin) revokeTokenForm(c *fiber.Ctx) error {
	ctx, cancel := bound(c)
	defer cancel()
	if _, err := a.store.RevokeAPIToken(ctx, c.Params("id"), sessionOf(c).User.Email); err != nil {
		if errors.Is(err, data.ErrNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "There is no such token.")
		}
		return err
	}
	return c.Redirect("/admin/tokens?done=token-revoked", fiber.StatusSeeOther)
}

// --- audit log ---

// parseAuditFilter reads the audit filter from query parameters, in the
// page's time zone: from and to are dates (to inclusive) or date-times.
func (a *admin) parseAuditFilter(c *fiber.Ctx) (data.AuditFilter, auditFilterForm, error) {
	form := auditFilterForm{Actor: strings.TrimSpace(c.Query("actor")), Action: strings.TrimSpace(c.Query("action")),
		Subject: strings.TrimSpace(c.Query("subject")), From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to"))}
	f := data.AuditFilter{Actor: form.Actor, Action: form.Action, Subject: form.Subject, Limit: 50}
	var err error
	if f.Since, err = a.parseWhen("from", form.From, false); err != nil {
		return f, form, err
	}
	if f.Until, err = a.parseWhen("to", form.To, true); err != nil {
		return f, form, err
	}
	if b := c.Query("before"); b != "" {
		if f.BeforeID, err = strconv.ParseInt(b, 10, 64); err != nil || f.BeforeID < 1 {
			return f, form, data.Invalid("before", "must be an entry id")
		}
	}
	return f, form, nil
}

// parseWhen reads a date (2026-11-24) or a date and time (2026-11-24T09:30)
// in the page's zone, or RFC 3339. A date as an end means the end of it.
func (a *admin) parseWhen(field, v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	loc := a.srv.opts.Page.Location
	if t, err := time.ParseInLocation("2006-01-02T15:04", v, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, data.Invalid(field, "%q is not a date like 2026-11-24 or a time like 2026-11-24T09:30", v)
}

func (a *admin) auditPage(c *fiber.Ctx) error {
	f, form, err := a.parseAuditFilter(c)
	v := a.base(c, "Audit log")
	av := &auditView{Filter: form}
	v.Audit = av
	if err != nil {
		return a.invalid(c, "audit.html", v, err, map[string]string{"from": "from", "to": "to", "": "actor"})
	}
	ctx, cancel := bound(c)
	defer cancel()
	entries, err := a.store.SearchAudit(ctx, f)
	if err != nil {
		return a.invalid(c, "audit.html", v, err, map[string]string{"": "actor"})
	}
	for _, e := range entries {
		av.Entries = append(av.Entries, auditEntryView{ID: e.ID, At: a.srv.timeView(e.At), Actor: e.Actor, Action: e.Action,
			Subject: e.Subject, Detail: e.Detail, Before: e.Before, After: e.After})
	}
	if len(entries) == f.Limit {
		q := url.Values{}
		for k, val := range map[string]string{"actor": form.Actor, "action": form.Action, "subject": form.Subject, "from": form.From, "to": form.To} {
			if val != "" {
				q.Set(k, val)
			}
		}
		q.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		av.Older = "/admin/audit?" + q.Encode()
	}
	return a.render(c, "audit.html", v)
}
