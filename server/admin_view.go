package server

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/assets"
	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/templates"
)

// The admin templates (templates/admin/*.html) receive an *adminView: the
// frame every page shares and exactly one page-specific part.

// adminPages are the templates handlers render; each must exist.
var adminPages = []string{"login.html", "dashboard.html", "component.html", "users.html", "tokens.html", "audit.html", "error.html",
	"incidents.html", "incident.html", "incident_form.html", "draft.html", "templates.html", "subscribers.html", "subscriber.html"}

type adminView struct {
	Title    string // the page's own title; the site name is added
	Site     string // the status page's name
	CSS      string
	Path     string    // for aria-current in the navigation
	User     *userView // nil when signed out
	CSRF     string    // the session's form token
	Nav      []navItem
	Notice   string       // a success message shown at the top
	Errors   []fieldError // validation errors, summarised at the top
	Now      timeView
	TimeZone string // IANA name of the zone times are shown in

	Login     *loginView
	Dashboard *dashboardView
	Component *componentPageView
	Users     *usersView
	Tokens    *tokensView
	Audit     *auditView
	Error     *adminErrorView
	Work      *workView // incidents, drafts, maintenance and templates (admin_incident_view.go)

	Subscribers *subscribersView    // the list, search and import
	Subscriber  *subscriberPageView // one subscriber and its deliveries
}

type navItem struct {
	Name, URL string
	Current   bool
}

// fieldError is one validation error; ID is the id of the input it is
// about, so the summary can link to it.
type fieldError struct {
	ID, Message string
}

// ErrorFor returns the error message for the input with id, for
// aria-describedby and the message beside the field.
func (v *adminView) ErrorFor(id string) string {
	for _, e := range v.Errors {
		if e.ID == id {
			return e.Message
		}
	}
	return ""
}

type userView struct {
	ID        int64
	Email     string
	Role      string
	RoleLabel string
	Disabled  bool
	Created   timeView
	LastLogin timeView
	Self      bool
}

type loginView struct {
	Email   string
	Next    string
	SignOut bool // just signed out
}

type dashboardView struct {
	Journeys []adminJourneyView
}

type adminJourneyView struct {
	ID, Name   string
	Status     componentStatusView
	Components []adminComponentView
}

type adminComponentView struct {
	ID, Name string
	Group    string // the group's name, for a child
	IsGroup  bool
	Status   componentStatusView
	Why      string // who or what decided the status, and why
	Since    timeView
}

type componentPageView struct {
	Component adminComponentView
	Inputs    []inputView
	Override  *inputView // the override in force, if any
	Statuses  []componentStatusView
	CanEdit   bool
	Form      overrideForm
	Supported bool // the store records status inputs
}

type inputView struct {
	Source, Key string
	Status      componentStatusView
	Reason      string
	Actor       string
	At          timeView
	Decides     bool
}

type overrideForm struct {
	Status string
	Reason string
}

type usersView struct {
	Users []userView
	Roles []roleOption
	Form  userForm
}

type roleOption struct {
	Value, Label string
}

type userForm struct {
	Email string
	Role  string
}

type tokensView struct {
	Tokens  []tokenView
	Scopes  []string
	Form    tokenForm
	Created *createdToken // set once, right after creating
}

type tokenView struct {
	ID, Name string
	Owner    string
	Scopes   []string
	Created  timeView
	LastUsed timeView
	LastIP   string
	Revoked  timeView
}

type tokenForm struct {
	Name   string
	Scopes []string
}

// Has reports whether the form had scope ticked.
func (f tokenForm) Has(scope string) bool { return slices.Contains(f.Scopes, scope) }

type createdToken struct {
	ID, Name, Secret string
}

type auditView struct {
	Filter  auditFilterForm
	Entries []auditEntryView
	Older   string // URL of the next page, "" at the end
}

type auditFilterForm struct {
	Actor, Action, Subject, From, To string
}

type auditEntryView struct {
	ID                    int64
	At                    timeView
	Actor, Action, Detail string
	Subject               string
	Before, After         string
}

type subscribersView struct {
	Filter   subscriberFilterForm
	Rows     []subscriberRow
	Searched bool   // a search or a later page: "none match" rather than "none yet"
	First    string // URL of the first page, when not on it
	Next     string // URL of the next page, "" at the end
	CanWrite bool   // may import and remove
	MaxRows  string // rows one import may hold, in words
	MaxSize  string // largest file, in words
}

type subscriberFilterForm struct {
	Q         string
	Kind      string // "", email or webhook
	Confirmed string // "", true or false
}

type subscriberRow struct {
	ID           int64
	Kind         string // email or webhook
	Address      string // the email address, or the webhook URL redacted to scheme and host
	Owner        string // a webhook's owner address
	Format       string // a webhook's body format, in words
	Scope        string // "Everything", or the components and journeys by name
	Confirmed    timeView
	Created      timeView
	Disabled     timeView
	FailingSince timeView
}

type subscriberPageView struct {
	Subscriber subscriberRow
	Deliveries []deliveryRow
	Older      bool   // showing older deliveries, not the newest
	Next       string // URL of older deliveries, "" when there are none
	CanWrite   bool
}

type deliveryRow struct {
	ID       int64
	Event    string // what it announced
	EventURL string // the admin page of what it is about, if any
	State    labelView
	When     timeView // sent at, or the next attempt
	Attempts int
	Error    string // the last attempt's error, or why it failed for good
	Created  timeView
}

// eventDeliveriesView is one of an incident's events with its deliveries
// counted by state (pending includes those being sent right now).
type eventDeliveriesView struct {
	Event                                string
	At                                   timeView
	Sent, Pending, Retrying, Dead, Total int
	Expanding                            bool // deliveries are still being created
}

type adminErrorView struct {
	Code           int
	Title, Message string
}

func parseAdminTemplates() (*template.Template, error) {
	t, err := template.New("admin").Funcs(pageFuncs).ParseFS(templates.AdminFS, "admin/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse admin templates: %w", err)
	}
	for _, name := range adminPages {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("parse admin templates: %s is missing", name)
		}
	}
	return t, nil
}

// adminStylesheet is the public stylesheet followed by the admin one, so the
// two sides look alike and share their colours (light and dark).
func adminStylesheet() (asset, error) {
	pub, err := fs.ReadFile(assets.FS, "css/style.css")
	if err != nil {
		return asset{}, fmt.Errorf("load admin stylesheet: %w", err)
	}
	adm, err := fs.ReadFile(assets.FS, "css/admin.css")
	if err != nil {
		return asset{}, fmt.Errorf("load admin stylesheet: %w", err)
	}
	body := append(append(pub, '\n'), adm...)
	return asset{Path: hashedPath("/admin/assets/admin.", ".css", body), Body: body, ContentType: "text/css; charset=utf-8"}, nil
}

// base is the frame of a page for the request's user, if any.
func (a *admin) base(c *fiber.Ctx, title string) *adminView {
	v := &adminView{Title: title, Site: a.srv.opts.Page.Name, CSS: a.css.Path, Path: c.Path(), Now: a.srv.timeView(a.now()),
		TimeZone: a.srv.opts.Page.TimeZoneName}
	if ss := sessionOf(c); ss != nil {
		v.User = a.userView(ss.User, ss.User.ID)
		v.CSRF = ss.CSRFToken
		for _, n := range []struct {
			name, url string
			perm      permission
		}{
			{"Dashboard", "/admin/", permView},
			{"Incidents", "/admin/incidents", permView},
			{"Templates", "/admin/templates", permIncidents},
			{"Subscribers", "/admin/subscribers", permSubscribers},
			{"Users", "/admin/users", permUsers},
			{"API tokens", "/admin/tokens", permTokens},
			{"Audit log", "/admin/audit", permAudit},
		} {
			if can(ss.User.Role, n.perm) {
				v.Nav = append(v.Nav, navItem{Name: n.name, URL: n.url, Current: v.Path == n.url || (n.url == "/admin/" && v.Path == "/admin")})
			}
		}
	}
	return v
}

func (a *admin) userView(u data.User, self int64) *userView {
	return &userView{ID: u.ID, Email: u.Email, Role: string(u.Role), RoleLabel: u.Role.Label(), Disabled: u.Disabled(),
		Created: a.srv.timeView(u.CreatedAt), LastLogin: a.srv.timeView(u.LastLoginAt), Self: u.ID == self}
}

func (a *admin) render(c *fiber.Ctx, name string, v *adminView) error {
	return a.renderStatus(c, fiber.StatusOK, name, v)
}

// renderStatus renders a page into a buffer first, so a template error
// becomes a clean error response instead of half a page.
func (a *admin) renderStatus(c *fiber.Ctx, code int, name string, v *adminView) error {
	var buf bytes.Buffer
	if err := a.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		a.log.Error("render admin page", "template", name, "err", err)
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.Status(fiber.StatusInternalServerError).SendString("internal error\n")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(code).Send(buf.Bytes())
}

// invalid re-renders a form page with the error, keeping what was typed
// (the page's view already holds it).
func (a *admin) invalid(c *fiber.Ctx, name string, v *adminView, err error, fieldIDs map[string]string) error {
	var inv *data.InvalidError
	if !asInvalid(err, &inv) {
		return err
	}
	id := fieldIDs[inv.Field]
	if id == "" {
		id = fieldIDs[""]
	}
	v.Errors = append(v.Errors, fieldError{ID: id, Message: sentence(inv)})
	return a.renderStatus(c, fiber.StatusUnprocessableEntity, name, v)
}

func asInvalid(err error, target **data.InvalidError) bool { return errors.As(err, target) }

// sentence puts a validation error in words for the top of a form:
// "The name must not be empty."
func sentence(inv *data.InvalidError) string {
	s := inv.Reason
	if inv.Field != "" {
		s = "The " + inv.Field + " " + s
	}
	if s != "" && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
