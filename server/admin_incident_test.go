package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

// incidentScopeCalls are the incident workflow's endpoints for the scope
// matrix: each with a body that passes decoding, on ids that do not exist
// (so that an allowed call is a 404 or 4xx about the input, never 401/403).
func incidentScopeCalls() []struct {
	method, path string
	body         any
	scope        data.Scope
} {
	msg := apiMessage{Title: "Matrix", Body: "matrix"}
	return []struct {
		method, path string
		body         any
		scope        data.Scope
	}{
		{"GET", "/api/admin/incidents", nil, data.ScopeIncidentsWrite},
		{"POST", "/api/admin/incidents", msg, data.ScopeIncidentsWrite},
		{"GET", "/api/admin/incidents/none", nil, data.ScopeIncidentsWrite},
		{"POST", "/api/admin/incidents/none/updates", msg, data.ScopeIncidentsWrite},
		{"POST", "/api/admin/incidents/none/notes", apiNoteCreate{Body: "x"}, data.ScopeIncidentsWrite},
		{"PUT", "/api/admin/incidents/none/postmortem", apiPostmortem{Body: "x"}, data.ScopeIncidentsWrite},
		{"GET", "/api/admin/maintenance", nil, data.ScopeMaintenanceWrite},
		{"POST", "/api/admin/maintenance", msg, data.ScopeMaintenanceWrite},
		{"GET", "/api/admin/maintenance/none", nil, data.ScopeMaintenanceWrite},
		{"POST", "/api/admin/maintenance/none/updates", msg, data.ScopeMaintenanceWrite},
		{"GET", "/api/admin/drafts", nil, data.ScopeIncidentsWrite},
		{"GET", "/api/admin/drafts/none", nil, ""},
		{"PUT", "/api/admin/drafts/none", msg, ""},
		{"POST", "/api/admin/drafts/none/publish", nil, ""},
		{"DELETE", "/api/admin/drafts/none", nil, ""},
		{"GET", "/api/admin/templates", nil, data.ScopeIncidentsWrite},
		{"PUT", "/api/admin/templates/mine", apiTemplateJSON{Name: "Mine", Kind: "incident", Status: "investigating", Body: "x"}, data.ScopeIncidentsWrite},
		{"DELETE", "/api/admin/templates/none", nil, data.ScopeIncidentsWrite},
		{"GET", "/api/admin/maintenance-series", nil, data.ScopeMaintenanceWrite},
		{"POST", "/api/admin/maintenance-series", apiSeriesCreate{Name: "x"}, data.ScopeMaintenanceWrite},
		{"DELETE", "/api/admin/maintenance-series/none", nil, data.ScopeMaintenanceWrite},
	}
}

func apiStatus(t *testing.T, res *http.Response) (int, apiError) {
	t.Helper()
	var e apiError
	_ = json.NewDecoder(res.Body).Decode(&e) // a success body is not an error
	return res.StatusCode, e
}

// TestIncidentAPIFlow drafts an incident from a template through the API,
// previews it, publishes it, posts updates to resolved and a postmortem,
// and checks the public documents.
func TestIncidentAPIFlow(t *testing.T) {
	h := newAdminHarness(t)
	tok := h.token("cara@example.com", data.ScopeIncidentsWrite)
	next := h.now.Add(30 * time.Minute)
	var created apiDraftResult
	res := h.api(tok, "POST", "/api/admin/incidents", apiMessage{Template: "partial-outage", Components: map[string]string{"payments": "partial_outage"},
		Variables: map[string]string{"workaround": "Pay by invoice."}, NextUpdateBy: &next, Note: "internal-only-marker"}, &created)
	if res.StatusCode != 201 {
		t.Fatalf("create: %d", res.StatusCode)
	}
	d := created.Draft
	if !strings.HasPrefix(d.Title, "Partial outage: Checkout") || !strings.Contains(d.Body, "Pay by invoice.") || d.Preview == nil {
		t.Fatalf("draft = %+v", d)
	}
	if !strings.Contains(d.Preview.PageHTML, "<strong>Workaround:</strong> Pay by invoice.") || !strings.Contains(d.Preview.EmailSubject, "Partial outage") {
		t.Errorf("preview = %+v", d.Preview)
	}
	var wh struct {
		Incident struct {
			Name            string `json:"name"`
			IncidentUpdates []any  `json:"incident_updates"`
		} `json:"incident"`
	}
	if err := json.Unmarshal(d.Preview.Webhook, &wh); err != nil || wh.Incident.Name != d.Title || len(wh.Incident.IncidentUpdates) != 1 {
		t.Errorf("webhook preview = %s (%v)", d.Preview.Webhook, err)
	}
	for _, s := range []string{d.Preview.PageHTML, d.Preview.EmailText, string(d.Preview.Webhook)} {
		if strings.Contains(s, "internal-only-marker") {
			t.Error("the internal note is in the preview of what customers get")
		}
	}
	// Not public yet.
	if body := h.public("/api/v2/summary.json"); strings.Contains(body, "Partial outage") {
		t.Error("a draft reached summary.json")
	}
	var pub apiDraftResult
	if res := h.api(tok, "POST", "/api/admin/drafts/"+d.ID+"/publish", nil, &pub); res.StatusCode != 200 || pub.Incident == nil {
		t.Fatalf("publish: %d", res.StatusCode)
	}
	if code, e := apiStatus(t, h.api(tok, "POST", "/api/admin/drafts/"+d.ID+"/publish", nil, nil)); code != 409 || e.Message == "" {
		t.Errorf("second publish: %d %q; want 409 with a message", code, e.Message)
	}
	inc := pub.Incident
	if inc.Severity != "SEV2" || inc.Impact != "major" || inc.NextUpdateBy == nil || len(inc.Notes) != 1 {
		t.Errorf("incident = %+v", inc)
	}
	h.srv.Rebuild(context.Background())
	summary := h.public("/api/v2/summary.json")
	if !strings.Contains(summary, "Partial outage: Checkout") || strings.Contains(summary, "internal-only-marker") {
		t.Errorf("summary.json after publish:\n%s", summary)
	}
	page := h.public("/incidents/" + inc.ID)
	if !strings.Contains(page, "<strong>Workaround:</strong> Pay by invoice.") {
		t.Errorf("the incident page does not show the rendered message")
	}
	// Overdue after the promised time.
	h.advance(31 * time.Minute)
	var got apiIncidentJSON
	h.api(tok, "GET", "/api/admin/incidents/"+inc.ID, nil, &got)
	if !got.Overdue {
		t.Error("not overdue after the promised time")
	}
	for _, st := range []string{"identified", "monitoring", "resolved"} {
		var r apiDraftResult
		if res := h.api(tok, "POST", "/api/admin/incidents/"+inc.ID+"/updates", apiMessage{Template: map[string]string{
			"identified": "identified", "monitoring": "monitoring", "resolved": "resolved"}[st], Variables: map[string]string{"cause": "a bad deploy"},
			Notify: ptr(st != "monitoring"), Publish: true}, &r); res.StatusCode != 201 || r.Incident == nil || r.Incident.Status != st {
			t.Fatalf("update to %s: %d %+v", st, res.StatusCode, r.Incident)
		}
	}
	var pm apiDraftResult
	if res := h.api(tok, "PUT", "/api/admin/incidents/"+inc.ID+"/postmortem", apiPostmortem{Body: "## What happened\nA deploy.", Publish: true}, &pm); res.StatusCode != 201 {
		t.Fatalf("postmortem: %d", res.StatusCode)
	}
	if pm.Incident.Status != "postmortem" || pm.Incident.Postmortem == "" {
		t.Errorf("postmortem incident = %+v", pm.Incident)
	}
	// Audit: every action.
	entries, err := h.store.SearchAudit(context.Background(), data.AuditFilter{Actor: "cara@example.com", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
	}
	for _, want := range []string{"draft.create", "incident.publish", "incident.create", "incident.update", "incident.note"} {
		if !seen[want] {
			t.Errorf("no %s audit entry; have %v", want, seen)
		}
	}
	// Silent updates are marked so in their events.
	evs, _ := h.store.Events(context.Background(), 0, 1000)
	silent := 0
	for _, e := range evs {
		if ic, ok := e.Payload.(*data.IncidentChanged); ok {
			if !ic.Notify {
				silent++
			}
			if strings.Contains(ic.Body, "internal-only-marker") {
				t.Error("the internal note reached an event")
			}
		}
	}
	if silent != 1 {
		t.Errorf("%d silent events; want 1 (the monitoring update)", silent)
	}
}

// public fetches a public document after a rebuild.
func (h *adminHarness) public(path string) string {
	h.t.Helper()
	if err := h.srv.Rebuild(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	req := httptest.NewRequest("GET", path, nil)
	res, err := h.srv.App().Test(req, -1)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// TestIncidentAPIBadInput: every bad input of the issue is a 4xx with a
// message a person can act on, and stores nothing.
func TestIncidentAPIBadInput(t *testing.T) {
	h := newAdminHarness(t)
	tok := h.token("cara@example.com", data.ScopeIncidentsWrite)
	countDrafts := func() int {
		d, err := h.store.Drafts(context.Background(), data.DraftFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(d)
	}
	// An open incident to update.
	var pub apiDraftResult
	h.api(tok, "POST", "/api/admin/incidents", apiMessage{Title: "Search slow", Body: "Slow.", Publish: true}, &pub)
	if pub.Incident == nil {
		t.Fatal("could not open an incident")
	}
	before := countDrafts()
	for _, c := range []struct {
		name, path string
		body       apiMessage
		code       int
		field      string
	}{
		{"unknown component", "/api/admin/incidents", apiMessage{Title: "x", Body: "x", Components: map[string]string{"nope": "major_outage"}}, 400, "components"},
		{"bad component status", "/api/admin/incidents", apiMessage{Title: "x", Body: "x", Components: map[string]string{"payments": "broken"}}, 400, "components"},
		{"empty title", "/api/admin/incidents", apiMessage{Title: " ", Body: "x"}, 400, "title"},
		{"body over the limit", "/api/admin/incidents", apiMessage{Title: "x", Body: strings.Repeat("x", data.MaxBodyLength+1)}, 400, "body"},
		{"raw HTML", "/api/admin/incidents", apiMessage{Title: "x", Body: "<script>x</script>"}, 400, "body"},
		{"missing template variable", "/api/admin/incidents", apiMessage{Template: "full-outage", Components: map[string]string{"payments": "major_outage"}}, 400, "next_update"},
		{"unknown template", "/api/admin/incidents", apiMessage{Template: "nope", Title: "x"}, 400, "template"},
		{"unknown variable", "/api/admin/incidents", apiMessage{Title: "x", Body: "x", Variables: map[string]string{"foo": "bar"}}, 400, "variables"},
		{"invalid transition", "/api/admin/incidents/" + pub.Incident.ID + "/updates", apiMessage{Status: "postmortem", Body: "x"}, 409, ""},
		{"unknown incident", "/api/admin/incidents/nope/updates", apiMessage{Status: "identified", Body: "x"}, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, e := apiStatus(t, h.api(tok, "POST", c.path, c.body, nil))
			if code != c.code || e.Field != c.field || e.Message == "" {
				t.Errorf("%d %q %q; want %d field %q with a message", code, e.Field, e.Message, c.code, c.field)
			}
		})
	}
	if n := countDrafts(); n != before {
		t.Errorf("bad input stored %d drafts", n-before)
	}
	// A viewer's token, one without the scope, a revoked one.
	viewer := h.token("vic@example.com", data.ScopeIncidentsWrite)
	if code, _ := apiStatus(t, h.api(viewer, "POST", "/api/admin/incidents", apiMessage{Title: "x", Body: "x"}, nil)); code != 403 {
		t.Errorf("viewer's token: %d; want 403", code)
	}
	other := h.token("cara@example.com", data.ScopeComponentsWrite)
	if code, e := apiStatus(t, h.api(other, "POST", "/api/admin/incidents", apiMessage{Title: "x", Body: "x"}, nil)); code != 403 || !strings.Contains(e.Message, "incidents:write") {
		t.Errorf("token without the scope: %d %q", code, e.Message)
	}
	toks, _ := h.store.APITokens(context.Background())
	for _, tk := range toks {
		if tk.User.Email == "cara@example.com" && tk.Has(data.ScopeIncidentsWrite) {
			if _, err := h.store.RevokeAPIToken(context.Background(), tk.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if code, _ := apiStatus(t, h.api(tok, "POST", "/api/admin/incidents", apiMessage{Title: "x", Body: "x"}, nil)); code != 401 {
		t.Errorf("revoked token: %d; want 401", code)
	}
	if n := countDrafts(); n != before {
		t.Errorf("refused requests stored %d drafts", n-before)
	}
}

// TestIncidentPublishFailureAPI injects a failure at the end of a publish:
// the API answers 500 without internals and nothing of it is stored.
func TestIncidentPublishFailureAPI(t *testing.T) {
	h := newAdminHarness(t)
	tok := h.token("cara@example.com", data.ScopeIncidentsWrite)
	var created apiDraftResult
	h.api(tok, "POST", "/api/admin/incidents", apiMessage{Title: "Down", Body: "Down.", Components: map[string]string{"payments": "major_outage"}}, &created)
	db, err := sql.Open("sqlite3", "file:"+h.store.Path()+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER fail_publish BEFORE UPDATE OF published_at ON incident_drafts BEGIN SELECT RAISE(ABORT, 'injected'); END`); err != nil {
		t.Fatal(err)
	}
	evs, _ := h.store.Events(context.Background(), 0, 1000)
	code, e := apiStatus(t, h.api(tok, "POST", "/api/admin/drafts/"+created.Draft.ID+"/publish", nil, nil))
	if code != 500 || strings.Contains(e.Message, "injected") {
		t.Errorf("failed publish: %d %q", code, e.Message)
	}
	after, _ := h.store.Events(context.Background(), 0, 1000)
	list, _ := h.store.Incidents(context.Background(), data.IncidentFilter{})
	ins, _ := h.store.Inputs(context.Background(), "payments")
	if len(after) != len(evs) || len(list) != 0 || len(ins) != 0 {
		t.Errorf("a failed publish left %d events, %d incidents, %d inputs", len(after)-len(evs), len(list), len(ins))
	}
}

// TestIncidentUIFlow walks the form flow without a browser: a form error
// keeps what was typed, a viewer cannot publish, a stale CSRF token is
// refused, and a publish happens once.
func TestIncidentUIFlow(t *testing.T) {
	h := newAdminHarness(t)
	b := h.browser().mustLogin("cara@example.com")
	form := url.Values{"kind": {"incident"}, "template": {"full-outage"}, "c.payments": {"major_outage"}, "var.workaround": {"typed workaround"},
		"notify": {"1"}}
	r := b.post("/admin/incidents/new", "/admin/incidents/new", form)
	if r.StatusCode != 422 || !strings.Contains(r.body, "typed workaround") || !strings.Contains(r.body, `id="next-update-error"`) {
		t.Fatalf("missing next update: %d\n%s", r.StatusCode, problems(r.body))
	}
	form.Set("next_update", "30")
	r = b.post("/admin/incidents/new", "/admin/incidents/new", form)
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/drafts/") {
		t.Fatalf("create draft: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), problems(r.body))
	}
	draft := r.Header.Get("Location")
	r = b.do("GET", draft, nil)
	if r.StatusCode != 200 || !strings.Contains(r.body, "On the status page") || !strings.Contains(r.body, "Webhook body") {
		t.Fatalf("preview: %d", r.StatusCode)
	}
	// A viewer may not publish.
	v := h.browser().mustLogin("vic@example.com")
	if r := v.post("/admin/", draft+"/publish", nil); r.StatusCode != 403 {
		t.Errorf("viewer publish: %d; want 403", r.StatusCode)
	}
	// A stale token is refused.
	if r := b.do("POST", draft+"/publish", url.Values{"csrf": {"stale"}}); r.StatusCode != 403 {
		t.Errorf("stale CSRF: %d; want 403", r.StatusCode)
	}
	if r := b.do("POST", draft+"/publish", url.Values{}); r.StatusCode != 403 {
		t.Errorf("missing CSRF: %d; want 403", r.StatusCode)
	}
	r = b.post(draft, draft+"/publish", nil)
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/admin/incidents/") {
		t.Fatalf("publish: %d\n%s", r.StatusCode, problems(r.body))
	}
	if r2 := b.post("/admin/", draft+"/publish", nil); r2.StatusCode != 409 {
		t.Errorf("second publish: %d; want 409", r2.StatusCode)
	}
	inc := b.do("GET", r.Header.Get("Location"), nil)
	if !strings.Contains(inc.body, "Outage: Checkout") {
		t.Errorf("incident page:\n%s", inc.body)
	}
}

// TestMaintenanceLateFlags: the incidents page flags a window that starts
// by hand and is past its start, and one past its end while in progress;
// a window with automatic transitions is never flagged.
func TestMaintenanceLateFlags(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	t0 := h.clock()
	manual, err := h.store.CreateMaintenance(ctx, data.NewMaintenance{Name: "Manual window", Body: "Planned.", ScheduledFor: t0.Add(time.Hour),
		ScheduledUntil: t0.Add(2 * time.Hour), ComponentIDs: []string{"payments"}, Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.CreateMaintenance(ctx, data.NewMaintenance{Name: "Automatic window", Body: "Planned.", ScheduledFor: t0.Add(time.Hour),
		ScheduledUntil: t0.Add(2 * time.Hour), ComponentIDs: []string{"payments"}, AutoTransition: true, Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	// A fresh sign-in each time: the clock moves past the session's idle limit.
	page := func() string {
		return h.browser().mustLogin("cara@example.com").do("GET", "/admin/incidents", nil).body
	}
	if p := page(); strings.Contains(p, "not started") || strings.Contains(p, "overrunning") {
		t.Error("a window flagged before its start")
	}
	h.advance(90 * time.Minute)
	if p := page(); strings.Count(p, "not started") != 1 {
		t.Errorf("90 minutes on, %d windows flagged not started; want the manual one", strings.Count(p, "not started"))
	}
	if _, err := h.store.AddUpdate(ctx, manual.ID, data.NewUpdate{Status: data.InProgress, Body: "Started.", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Hour)
	if p := page(); strings.Count(p, "overrunning") != 1 || strings.Contains(p, "not started") {
		t.Errorf("past its end, flags: overrunning %d, not started %v; want one overrunning", strings.Count(p, "overrunning"), strings.Contains(p, "not started"))
	}
}
