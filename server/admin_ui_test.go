package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

func TestAdminUsersPage(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	b := h.browser().mustLogin("ann@example.com")

	// Validation keeps what was typed (never the password) and links the
	// summary to the field.
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"email": {"not-an-address"}, "role": {"comms"}, "password": {testPassword}}, "email"},
		{url.Values{"email": {"new@example.com"}, "role": {"comms"}, "password": {"short"}}, "password"},
		{url.Values{"email": {"new@example.com"}, "role": {"root"}, "password": {testPassword}}, "role"},
		{url.Values{"email": {"Cara@example.com"}, "role": {"viewer"}, "password": {testPassword}}, "email"},
	} {
		r := b.post("/admin/users", "/admin/users", c.form)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#`+c.field+`"`) ||
			!strings.Contains(r.body, `value="`+c.form.Get("email")+`"`) || strings.Contains(r.body, c.form.Get("password")) {
			t.Errorf("add %v: %d; want 422 about %s, keeping the address and not the password\n%s", c.form, r.StatusCode, c.field, problems(r.body))
		}
		if !strings.Contains(r.body, "<title>Error: ") {
			t.Errorf("add %v: the title does not say there is an error", c.form)
		}
	}
	r := b.post("/admin/users", "/admin/users", url.Values{"email": {"Dora@Example.com"}, "role": {"comms"}, "password": {testPassword}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add dora: %d\n%s", r.StatusCode, problems(r.body))
	}
	if page := b.do("GET", r.Header.Get("Location"), nil); !strings.Contains(page.body, "dora@example.com") || !strings.Contains(page.body, `role="status"`) {
		t.Error("the users page does not list dora or confirm the change")
	}
	h.browser().mustLogin("dora@example.com")

	// The last admin can be neither demoted nor disabled, and says so.
	r = b.post("/admin/users", "/admin/users/role", url.Values{"email": {"ann@example.com"}, "role": {"viewer"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "only active admin") {
		t.Errorf("demote the last admin: %d\n%s", r.StatusCode, problems(r.body))
	}
	// Nobody is offered to disable themselves.
	if page := b.do("GET", "/admin/users", nil); regexp.MustCompile(`action="/admin/users/disable"[^>]*>[^\n]*value="ann@example.com"`).MatchString(page.body) {
		t.Error("the users page offers to disable yourself")
	}
	r = b.post("/admin/users", "/admin/users/disable", url.Values{"email": {"nobody@example.com"}})
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("disable nobody: %d; want 404", r.StatusCode)
	}
	r = b.post("/admin/users", "/admin/users/role", url.Values{"email": {"dora@example.com"}, "role": {"admin"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("promote dora: %d\n%s", r.StatusCode, problems(r.body))
	}
	entries, _ := h.store.SearchAudit(ctx, data.AuditFilter{Subject: "dora@example.com", Action: "user.*"})
	if len(entries) != 2 || entries[0].Action != "user.role" || !strings.Contains(entries[0].Before, `"role":"comms"`) ||
		!strings.Contains(entries[0].After, `"role":"admin"`) || entries[0].Actor != "ann@example.com" {
		t.Errorf("audit of dora = %+v", entries)
	}
}

func TestAdminOverrideForm(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	b := h.browser().mustLogin("cara@example.com")

	page := b.do("GET", "/admin/components/payments", nil)
	if page.StatusCode != 200 || !strings.Contains(page.body, `action="/admin/components/payments/override"`) {
		t.Fatalf("component page: %d", page.StatusCode)
	}
	// Without a reason the form comes back with the status chosen.
	r := b.post("/admin/components/payments", "/admin/components/payments/override", url.Values{"status": {"major_outage"}, "reason": {""}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `<option value="major_outage" selected>`) || !strings.Contains(r.body, `href="#reason"`) {
		t.Fatalf("override without a reason: %d\n%s", r.StatusCode, problems(r.body))
	}
	r = b.post("/admin/components/payments", "/admin/components/payments/override", url.Values{"status": {"major_outage"}, "reason": {"card payments failing"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("set override: %d\n%s", r.StatusCode, problems(r.body))
	}
	ins, _ := h.store.Inputs(ctx, "payments")
	if len(ins) != 1 || ins[0].Source != data.SourceOverride || ins[0].Status != data.MajorOutage || ins[0].Actor != "cara@example.com" {
		t.Fatalf("inputs after override = %+v", ins)
	}
	page = b.do("GET", r.Header.Get("Location"), nil)
	for _, want := range []string{"card payments failing", "Clear override", "Major outage", `role="status"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("component page after override lacks %q", want)
		}
	}
	// The dashboard says why.
	if d := b.do("GET", "/admin/", nil); !strings.Contains(d.body, "card payments failing") {
		t.Error("the dashboard does not say why payments is down")
	}
	entries, _ := h.store.SearchAudit(ctx, data.AuditFilter{Subject: "payments", Action: "component.input"})
	if len(entries) != 1 || entries[0].Before != "" || !strings.Contains(entries[0].After, `"status":"major_outage"`) {
		t.Errorf("audit of the override = %+v", entries)
	}
	r = b.post("/admin/components/payments", "/admin/components/payments/override/clear", nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear override: %d\n%s", r.StatusCode, problems(r.body))
	}
	if ins, _ := h.store.Inputs(ctx, "payments"); len(ins) != 0 {
		t.Errorf("inputs after clear = %+v", ins)
	}
	entries, _ = h.store.SearchAudit(ctx, data.AuditFilter{Subject: "payments", Action: "component.input"})
	if len(entries) != 2 || !strings.Contains(entries[0].Before, `"status":"major_outage"`) || entries[0].After != "" {
		t.Errorf("audit of the clear = %+v", entries)
	}
	if r := b.do("GET", "/admin/components/nope", nil); r.StatusCode != 404 {
		t.Errorf("unknown component page: %d", r.StatusCode)
	}
	// A group's status follows its children: no form.
	if g := b.do("GET", "/admin/components/idp", nil); g.StatusCode != 200 || strings.Contains(g.body, "/override\"") {
		t.Errorf("group page: %d, has override form: %v", g.StatusCode, strings.Contains(g.body, "/override\""))
	}
	// A viewer sees the component but no form.
	v := h.browser().mustLogin("vic@example.com")
	if p := v.do("GET", "/admin/components/payments", nil); p.StatusCode != 200 || strings.Contains(p.body, "Set override") {
		t.Errorf("viewer's component page: %d, offers the override: %v", p.StatusCode, strings.Contains(p.body, "Set override"))
	}
}

func TestAdminOverrideAPI(t *testing.T) {
	h := newAdminHarness(t)
	tok := h.token("cara@example.com", data.ScopeComponentsWrite)
	var st apiOverrideState
	if r := h.api(tok, "GET", "/api/admin/components/payments/override", nil, &st); r.StatusCode != 200 || st.Status != "operational" || st.Override != nil || st.DecidedBy != nil {
		t.Fatalf("GET override = %d %+v", r.StatusCode, st)
	}
	if r := h.api(tok, "PUT", "/api/admin/components/payments/override", apiOverrideSet{Status: "partial_outage", Reason: "EU cards declined"}, &st); r.StatusCode != 200 ||
		st.Status != "partial_outage" || st.Override == nil || st.Override.Reason != "EU cards declined" || st.DecidedBy.Source != "override" ||
		!strings.HasPrefix(st.Override.Actor, "cara@example.com (token tok_") {
		t.Fatalf("PUT override = %d %+v", r.StatusCode, st)
	}
	// PUT again is idempotent.
	if r := h.api(tok, "PUT", "/api/admin/components/payments/override", apiOverrideSet{Status: "partial_outage", Reason: "EU cards declined"}, &st); r.StatusCode != 200 {
		t.Errorf("second PUT = %d", r.StatusCode)
	}
	hist, _ := h.store.History(context.Background(), "payments", 10)
	if len(hist) != 2 { // the first record, then the one change
		t.Errorf("history after two equal PUTs = %+v", hist)
	}
	if r := h.api(tok, "DELETE", "/api/admin/components/payments/override?reason=fixed", nil, &st); r.StatusCode != 200 || st.Status != "operational" || st.Override != nil {
		t.Fatalf("DELETE override = %d %+v", r.StatusCode, st)
	}
	if snapOK := h.srv.Rebuild(context.Background()); snapOK != nil {
		t.Fatal(snapOK)
	}
}

func TestAdminAuditPage(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	for i, a := range []data.AuditChange{
		{Actor: "ann@example.com", Action: "user.create", Subject: "x@example.com", After: map[string]string{"role": "viewer"}},
		{Actor: "cara@example.com", Action: "component.input", Subject: "payments", Detail: "<b>bold</b>"},
		{Actor: "ann@example.com", Action: "user.disable", Subject: "x@example.com"},
	} {
		if err := h.store.RecordAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
		h.advance(time.Duration(i+1) * 24 * time.Hour)
	}
	b := h.browser().mustLogin("cara@example.com")
	r := b.do("GET", "/admin/audit?action=user.*&actor=ann%40example.com", nil)
	if r.StatusCode != 200 || strings.Count(r.body, "<code>user.") != 2 || strings.Contains(r.body, "component.input") {
		t.Errorf("filtered audit page: %d\n%s", r.StatusCode, r.body)
	}
	if !strings.Contains(r.body, `value="user.*"`) {
		t.Error("the filter form forgets what was typed")
	}
	r = b.do("GET", "/admin/audit", nil)
	if strings.Contains(r.body, "<b>bold</b>") || !strings.Contains(r.body, "&lt;b&gt;bold&lt;/b&gt;") {
		t.Error("an audit detail is not escaped")
	}
	if !strings.Contains(r.body, "session.login") {
		t.Error("the sign-in is not in the audit log")
	}
	r = b.do("GET", "/admin/audit?from=yesterday", nil)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `href="#from"`) || !strings.Contains(r.body, `value="yesterday"`) {
		t.Errorf("bad date: %d\n%s", r.StatusCode, problems(r.body))
	}
	// Dates are days in the page's zone; "to" includes its day.
	r = b.do("GET", "/admin/audit?from=2026-11-24&to=2026-11-24&action=user.*&actor=ann%40example.com", nil)
	if strings.Count(r.body, "<code>user.") != 1 {
		t.Errorf("one day's entries: %d\n%s", strings.Count(r.body, "<code>user."), r.body)
	}

	tok := h.token("cara@example.com", data.ScopeAuditRead)
	var page apiAuditPage
	if res := h.api(tok, "GET", "/api/admin/audit?subject=x%40example.com&limit=1", nil, &page); res.StatusCode != 200 || len(page.Entries) != 1 ||
		page.Entries[0].Action != "user.disable" || page.NextBeforeID == 0 {
		t.Fatalf("API audit = %d %+v", res.StatusCode, page)
	}
	if res := h.api(tok, "GET", "/api/admin/audit?subject=x%40example.com&before_id="+itoa(page.NextBeforeID), nil, &page); res.StatusCode != 200 ||
		len(page.Entries) != 1 || string(page.Entries[0].After) != `{"role":"viewer"}` || page.NextBeforeID != 0 {
		t.Fatalf("API audit, next page = %d %+v", res.StatusCode, page)
	}
	for _, q := range []string{"since=yesterday", "limit=0", "limit=501", "before_id=x"} {
		var e apiError
		if res := h.api(tok, "GET", "/api/admin/audit?"+q, nil, &e); res.StatusCode != 400 || e.Field == "" {
			t.Errorf("audit?%s = %d %+v; want 400 naming the field", q, res.StatusCode, e)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAdminLeavesPublicAlone: the public side never sets a cookie, keeps its
// own 404, and the admin app only answers below its two prefixes.
func TestAdminLeavesPublicAlone(t *testing.T) {
	h := newAdminHarness(t)
	b := h.browser().mustLogin("ann@example.com")
	for _, p := range []string{"/", "/history", "/api/v2/summary.json", "/adminx", "/administrator", "/api/adminx", "/api/v2/admin"} {
		r := b.do("GET", p, nil)
		if r.Header.Get("Set-Cookie") != "" || r.Header.Get("Cache-Control") == "no-store" {
			t.Errorf("GET %s: Set-Cookie %q, Cache-Control %q: looks like the admin app", p, r.Header.Get("Set-Cookie"), r.Header.Get("Cache-Control"))
		}
	}
	for _, p := range []string{"/admin", "/admin/", "/admin/nothing", "/api/admin", "/api/admin/x"} {
		r := b.do("GET", p, nil)
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q; want the admin app's no-store", p, r.Header.Get("Cache-Control"))
		}
	}
	// Without an admin store there is no admin app.
	srv, err := New(h.store, Options{Page: Page{Name: "x", URL: "http://x"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.App().Test(httptest.NewRequest("GET", "/admin/login", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 404 || srv.AdminApp() != nil {
		t.Errorf("no admin store: /admin/login = %d; want the public 404", res.StatusCode)
	}
	// Separate: the admin app is not on the public app, only on its own.
	sep, err := New(h.store, Options{Page: Page{Name: "x", URL: "http://x"}, Admin: AdminOptions{Store: h.store, Separate: true}})
	if err != nil {
		t.Fatal(err)
	}
	for app, want := range map[string]int{"public": 404, "admin": 200} {
		a := sep.App()
		if app == "admin" {
			a = sep.AdminApp()
		}
		res, err := a.Test(httptest.NewRequest("GET", "/admin/login", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != want {
			t.Errorf("separate admin: %s app /admin/login = %d; want %d", app, res.StatusCode, want)
		}
	}
}

// FuzzAdminRequest sends arbitrary cookies, tokens and paths: the admin app
// never answers 500 and never lets anyone in.
func FuzzAdminRequest(f *testing.F) {
	h := newAdminHarness(f)
	f.Add("/admin/", "statusd_session=abc", "Bearer sdt_x")
	f.Add("/api/admin/token", "", "Bearer sdt_"+strings.Repeat("A", 43))
	f.Add("/admin/users/%zz", "statusd_session="+strings.Repeat("-", 43), "")
	f.Add("/api/admin/audit?since=%ff", "", "bearer  sdt_")
	f.Fuzz(func(t *testing.T, path, cookie, auth string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			return
		}
		req := httptest.NewRequest("GET", "http://status.example.com/", nil)
		req.URL.Opaque = path
		req.RequestURI = path
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Authorization", auth)
		res, err := h.srv.App().Test(req, -1)
		if err != nil {
			return // a request line fasthttp refuses
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%s with cookie %q, auth %q: %d", path, cookie, auth, res.StatusCode)
		}
		if res.StatusCode == 200 && strings.HasPrefix(path, "/admin") && !strings.HasPrefix(path, "/admin/login") && !strings.HasPrefix(path, "/admin/assets") {
			t.Fatalf("%s with cookie %q: 200 without a session", path, cookie)
		}
		if res.StatusCode == 200 && strings.HasPrefix(path, "/api/admin") && !strings.HasPrefix(path, "/api/admin/openapi.json") {
			t.Fatalf("%s with auth %q: 200 without a token", path, auth)
		}
	})
}
