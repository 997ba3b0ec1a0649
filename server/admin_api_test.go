package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/statusd/statusd/data"
)

// TestAdminRoleMatrix checks every admin UI action against every role.
func TestAdminRoleMatrix(t *testing.T) {
	h := newAdminHarness(t)
	type action struct {
		name, method, path string
		perm               permission
		form               url.Values
	}
	actions := []action{
		{"dashboard", "GET", "/admin/", permView, nil},
		{"component page", "GET", "/admin/components/payments", permView, nil},
		{"set override", "POST", "/admin/components/payments/override", permOverride, url.Values{"status": {"degraded_performance"}, "reason": {"matrix"}}},
		{"clear override", "POST", "/admin/components/payments/override/clear", permOverride, url.Values{}},
		{"audit log", "GET", "/admin/audit", permAudit, nil},
		{"users page", "GET", "/admin/users", permUsers, nil},
		{"add user", "POST", "/admin/users", permUsers, url.Values{"email": {"x@example.com"}, "role": {"viewer"}, "password": {testPassword}}},
		{"change role", "POST", "/admin/users/role", permUsers, url.Values{"email": {"x@example.com"}, "role": {"comms"}}},
		{"disable user", "POST", "/admin/users/disable", permUsers, url.Values{"email": {"x@example.com"}}},
		{"enable user", "POST", "/admin/users/enable", permUsers, url.Values{"email": {"x@example.com"}}},
		{"tokens page", "GET", "/admin/tokens", permTokens, nil},
		{"create token", "POST", "/admin/tokens", permTokens, url.Values{"name": {"m"}, "scope": {"audit:read"}}},
	}
	// Each role's expectations follow rolePermissions; the table below says
	// the same in words, so a change to the policy must change both.
	want := map[data.Role][]permission{
		data.RoleAdmin:  {permView, permOverride, permAudit, permUsers, permTokens},
		data.RoleComms:  {permView, permOverride, permAudit},
		data.RoleViewer: {permView},
	}
	for role, email := range map[data.Role]string{data.RoleViewer: "vic@example.com", data.RoleComms: "cara@example.com", data.RoleAdmin: "ann@example.com"} {
		b := h.browser().mustLogin(email)
		for _, a := range actions {
			var r response
			if a.method == "GET" {
				r = b.do("GET", a.path, nil)
			} else {
				r = b.post("/admin/", a.path, a.form)
			}
			allowed := slices.Contains(want[role], a.perm)
			if allowed != can(role, a.perm) {
				t.Errorf("%s may %s: the policy says %v, this test %v", role, a.name, can(role, a.perm), allowed)
			}
			switch {
			case allowed && r.StatusCode >= 400:
				t.Errorf("%s %s: %d; want success\n%s", role, a.name, r.StatusCode, problems(r.body))
			case !allowed && r.StatusCode != http.StatusForbidden:
				t.Errorf("%s %s: %d; want 403", role, a.name, r.StatusCode)
			}
		}
	}
	// Signed out, every page sends you to sign in; every form too.
	anon := h.browser()
	for _, a := range actions {
		r := anon.do(a.method, a.path, a.form)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Errorf("signed out %s: %d %s; want a redirect to sign in", a.name, r.StatusCode, r.Header.Get("Location"))
		}
	}
}

// TestAdminScopeMatrix checks every API endpoint against tokens with each
// single scope, no token and a bad token.
func TestAdminScopeMatrix(t *testing.T) {
	h := newAdminHarness(t)
	type call struct {
		method, path string
		body         any
		scope        data.Scope // "" for any token
	}
	calls := []call{
		{"GET", "/api/admin/token", nil, ""},
		{"GET", "/api/admin/audit", nil, data.ScopeAuditRead},
		{"GET", "/api/admin/tokens", nil, data.ScopeTokensWrite},
		{"POST", "/api/admin/tokens", apiTokenCreate{Name: "made", Scopes: []string{"tokens:write"}}, data.ScopeTokensWrite},
		{"DELETE", "/api/admin/tokens/tok_none", nil, data.ScopeTokensWrite},
		{"GET", "/api/admin/components/payments/override", nil, data.ScopeComponentsWrite},
		{"PUT", "/api/admin/components/payments/override", apiOverrideSet{Status: "partial_outage", Reason: "matrix"}, data.ScopeComponentsWrite},
		{"DELETE", "/api/admin/components/payments/override", nil, data.ScopeComponentsWrite},
	}
	for _, c := range incidentScopeCalls() {
		calls = append(calls, call(c))
	}
	for _, c := range subscriberScopeCalls() {
		calls = append(calls, call(c))
	}
	// Every documented endpoint but the document itself is in the matrix.
	for _, r := range h.srv.admin.api {
		if r.Public {
			continue
		}
		found := false
		for _, c := range calls {
			if c.method == r.Method && matchTemplate(r.Path, strings.TrimPrefix(c.path, "/api/admin")) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s is not in the scope matrix", r.Method, r.Path)
		}
	}
	for _, sc := range data.Scopes {
		tok := h.token("ann@example.com", sc)
		for _, c := range calls {
			res := h.api(tok, c.method, c.path, c.body, nil)
			allowed := c.scope == "" || c.scope == sc
			switch {
			case allowed && (res.StatusCode == 401 || res.StatusCode == 403):
				t.Errorf("token with %s: %s %s = %d; want allowed", sc, c.method, c.path, res.StatusCode)
			case !allowed && res.StatusCode != 403:
				t.Errorf("token with %s: %s %s = %d; want 403", sc, c.method, c.path, res.StatusCode)
			case !allowed && !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="insufficient_scope", scope="`+string(c.scope)+`"`):
				t.Errorf("token with %s: %s %s: WWW-Authenticate %q", sc, c.method, c.path, res.Header.Get("WWW-Authenticate"))
			}
		}
	}
	for name, tok := range map[string]string{"no token": "", "garbage": "nonsense", "unknown": "sdt_" + strings.Repeat("A", 43)} {
		for _, c := range calls {
			res := h.api(tok, c.method, c.path, c.body, nil)
			if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: %s %s = %d (%q); want 401 with a Bearer challenge", name, c.method, c.path, res.StatusCode, res.Header.Get("WWW-Authenticate"))
			}
			var e apiError
			if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Message == "" {
				t.Errorf("%s: %s %s: body is not a JSON error: %v", name, c.method, c.path, err)
			}
		}
	}
	// A session cookie is no API credential.
	b := h.browser().mustLogin("ann@example.com")
	if r := b.do("GET", "/api/admin/token", nil); r.StatusCode != 401 {
		t.Errorf("API with a session cookie: %d; want 401", r.StatusCode)
	}
}

func TestAdminTokenLifecycle(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	b := h.browser().mustLogin("ann@example.com")

	// Bad input keeps what was typed.
	r := b.post("/admin/tokens", "/admin/tokens", url.Values{"name": {"deploy pipeline"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `value="deploy pipeline"`) || !strings.Contains(r.body, `href="#scopes"`) {
		t.Fatalf("token without scopes: %d\n%s", r.StatusCode, problems(r.body))
	}
	r = b.post("/admin/tokens", "/admin/tokens", url.Values{"name": {"deploy pipeline"}, "scope": {"components:write", "audit:read"}})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create token: %d\n%s", r.StatusCode, problems(r.body))
	}
	secret := regexpFind(t, r.body, `id="secret" type="text" readonly value="(sdt_[A-Za-z0-9_-]{43})"`)
	// Shown once: the list never shows it again.
	if page := b.do("GET", "/admin/tokens", nil); strings.Contains(page.body, secret) || !strings.Contains(page.body, "deploy pipeline") {
		t.Error("the tokens page shows the secret again, or not the token")
	}
	var self apiTokenJSON
	if res := h.api(secret, "GET", "/api/admin/token", nil, &self); res.StatusCode != 200 || self.Name != "deploy pipeline" ||
		!slices.Equal(self.Scopes, []string{"components:write", "audit:read"}) || self.Owner != "ann@example.com" {
		t.Fatalf("GET /token = %d %+v", res.StatusCode, self)
	}
	list, _ := h.store.APITokens(ctx)
	if len(list) != 1 || list[0].LastUsedAt.IsZero() || list[0].LastUsedIP == "" {
		t.Errorf("last use not recorded: %+v", list)
	}
	// A demoted owner's token keeps only what the new role allows.
	comms := data.RoleComms
	if _, err := h.store.UpdateUser(ctx, "cara@example.com", data.UserChange{Role: ptr(data.RoleAdmin), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.UpdateUser(ctx, "ann@example.com", data.UserChange{Role: &comms, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	adminTok := h.token("cara@example.com", data.ScopeTokensWrite)
	if err := h.store.RecordAudit(ctx, data.AuditChange{Actor: "t", Action: "x", Subject: "y"}); err != nil {
		t.Fatal(err)
	}
	if res := h.api(secret, "GET", "/api/admin/audit", nil, nil); res.StatusCode != 200 {
		t.Errorf("comms owner, audit:read: %d", res.StatusCode)
	}
	if _, err := h.store.UpdateUser(ctx, "ann@example.com", data.UserChange{Role: ptr(data.RoleViewer), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if res := h.api(secret, "GET", "/api/admin/audit", nil, nil); res.StatusCode != 403 {
		t.Errorf("viewer owner, audit:read: %d; want 403", res.StatusCode)
	}
	// A disabled owner's token stops working.
	if _, err := h.store.UpdateUser(ctx, "ann@example.com", data.UserChange{Disabled: ptr(true), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if res := h.api(secret, "GET", "/api/admin/token", nil, nil); res.StatusCode != 401 {
		t.Errorf("disabled owner: %d; want 401", res.StatusCode)
	}
	if _, err := h.store.UpdateUser(ctx, "ann@example.com", data.UserChange{Disabled: ptr(false), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// Revoked through the API, it is refused.
	var revoked apiTokenJSON
	if res := h.api(adminTok, "DELETE", "/api/admin/tokens/"+self.ID, nil, &revoked); res.StatusCode != 200 || revoked.RevokedAt == nil {
		t.Fatalf("revoke: %d %+v", res.StatusCode, revoked)
	}
	if res := h.api(secret, "GET", "/api/admin/token", nil, nil); res.StatusCode != 401 {
		t.Errorf("revoked token: %d; want 401", res.StatusCode)
	}
	if res := h.api(adminTok, "DELETE", "/api/admin/tokens/tok_nope", nil, nil); res.StatusCode != 404 {
		t.Errorf("revoke unknown: %d; want 404", res.StatusCode)
	}
	// A token cannot grant what it does not hold.
	var e apiError
	if res := h.api(adminTok, "POST", "/api/admin/tokens", apiTokenCreate{Name: "x", Scopes: []string{"audit:read"}}, &e); res.StatusCode != 403 {
		t.Errorf("grant a scope not held: %d %+v; want 403", res.StatusCode, e)
	}
	for _, bad := range []any{apiTokenCreate{Name: "", Scopes: []string{"tokens:write"}}, apiTokenCreate{Name: "x", Scopes: []string{"root"}},
		map[string]any{"name": "x", "scopes": []string{"tokens:write"}, "admin": true}, "not an object"} {
		if res := h.api(adminTok, "POST", "/api/admin/tokens", bad, &e); res.StatusCode != 400 || e.Message == "" {
			t.Errorf("create with %v: %d %+v; want 400 with a message", bad, res.StatusCode, e)
		}
	}
	entries, _ := h.store.SearchAudit(ctx, data.AuditFilter{Action: "token.*"})
	if len(entries) < 3 || entries[0].Action != "token.revoke" || !strings.HasPrefix(entries[0].Actor, "cara@example.com (token tok_") {
		t.Errorf("token audit = %+v", entries)
	}
}

func ptr[T any](v T) *T { return &v }

func regexpFind(t *testing.T, body, re string) string {
	t.Helper()
	m := mustCompile(re).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no match for %s in\n%s", re, body)
	}
	return m[1]
}

func TestAdminIdempotencyKey(t *testing.T) {
	h := newAdminHarness(t)
	tok := h.token("ann@example.com", data.ScopeTokensWrite, data.ScopeAuditRead)
	other := h.token("ann@example.com", data.ScopeTokensWrite, data.ScopeAuditRead)
	body := apiTokenCreate{Name: "ci", Scopes: []string{"audit:read"}}
	var first, again apiTokenCreated
	r1 := h.api(tok, "POST", "/api/admin/tokens", body, &first, "Idempotency-Key", "key-1")
	r2 := h.api(tok, "POST", "/api/admin/tokens", body, &again, "Idempotency-Key", "key-1")
	if r1.StatusCode != 201 || r2.StatusCode != 201 || first.Secret == "" || !reflect.DeepEqual(again, first) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %+v then %d %+v (replayed %q)", r1.StatusCode, first, r2.StatusCode, again, r2.Header.Get("Idempotent-Replayed"))
	}
	count := func() int {
		list, _ := h.store.APITokens(context.Background())
		return len(list)
	}
	if n := count(); n != 3 {
		t.Errorf("%d tokens after a retried create; want 3", n)
	}
	// The same key with another body is a mistake the client must hear of.
	var e apiError
	if r := h.api(tok, "POST", "/api/admin/tokens", apiTokenCreate{Name: "other", Scopes: []string{"audit:read"}}, &e, "Idempotency-Key", "key-1"); r.StatusCode != 422 {
		t.Errorf("reused key, other body: %d %+v; want 422", r.StatusCode, e)
	}
	// Keys belong to a token: another token's key-1 is its own.
	var third apiTokenCreated
	if r := h.api(other, "POST", "/api/admin/tokens", body, &third, "Idempotency-Key", "key-1"); r.StatusCode != 201 || third.Token.ID == first.Token.ID {
		t.Errorf("another token, same key: %d %+v", r.StatusCode, third)
	}
	// Without a key every POST creates.
	h.api(tok, "POST", "/api/admin/tokens", body, nil)
	if n := count(); n != 5 {
		t.Errorf("%d tokens; want 5", n)
	}
	if r := h.api(tok, "POST", "/api/admin/tokens", body, nil, "Idempotency-Key", strings.Repeat("k", 300)); r.StatusCode != 400 {
		t.Errorf("over-long key: %d; want 400", r.StatusCode)
	}
	// The stored response is sealed: the secret is not in the database.
	db := rawDBServer(t, h.store)
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM idempotency_keys WHERE instr(sealed, ?) > 0", first.Secret).Scan(&n); err != nil || n != 0 {
		t.Errorf("the new token's secret is stored in the clear (%d rows, %v)", n, err)
	}
}

func TestAdminOpenAPIMatchesRoutes(t *testing.T) {
	h := newAdminHarness(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	res := h.api("", "GET", "/api/admin/openapi.json", nil, &doc)
	if res.StatusCode != 200 || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json: %d %q", res.StatusCode, doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" /api/admin"+p)
		}
	}
	var registered []string
	for _, r := range h.srv.admin.app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/admin") || r.Method == "HEAD" || r.Method == "USE" {
			continue
		}
		p := r.Path
		for _, name := range r.Params {
			p = strings.Replace(p, ":"+name, "{"+name+"}", 1)
		}
		registered = append(registered, r.Method+" "+p)
	}
	sort.Strings(documented)
	sort.Strings(registered)
	if !slices.Equal(documented, registered) {
		t.Errorf("documented routes\n\t%s\nregistered routes\n\t%s", strings.Join(documented, "\n\t"), strings.Join(registered, "\n\t"))
	}
	// Every reference resolves.
	raw, _ := h.srv.admin.openAPIDocument()
	var full map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
	for _, ref := range mustCompile(`"\$ref": "#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if schemas[ref[1]] == nil {
			t.Errorf("dangling $ref %s", ref[1])
		}
	}
	// And the schema describes what the handler writes: the token shape.
	tok := schemas["Token"].(map[string]any)["properties"].(map[string]any)
	for _, k := range []string{"id", "name", "owner", "scopes", "created_at", "last_used_at", "revoked_at"} {
		if tok[k] == nil {
			t.Errorf("Token schema lacks %s", k)
		}
	}
}

func TestAdminAPIErrors(t *testing.T) {
	h := newAdminHarness(t)
	tok := h.token("ann@example.com", data.ScopeComponentsWrite)
	var e apiError
	for _, c := range []struct {
		method, path string
		body         any
		code         int
		field        string
	}{
		{"GET", "/api/admin/components/nope/override", nil, 404, ""},
		{"PUT", "/api/admin/components/nope/override", apiOverrideSet{Status: "major_outage", Reason: "x"}, 404, ""},
		{"PUT", "/api/admin/components/payments/override", apiOverrideSet{Status: "on_fire", Reason: "x"}, 400, "status"},
		{"PUT", "/api/admin/components/payments/override", apiOverrideSet{Status: "major_outage"}, 400, "reason"},
		{"PUT", "/api/admin/components/idp/override", apiOverrideSet{Status: "major_outage", Reason: "x"}, 400, "component"},
		{"POST", "/api/admin/components/payments/override", nil, 405, ""},
		{"GET", "/api/admin/nothing-here", nil, 404, ""},
	} {
		e = apiError{}
		res := h.api(tok, c.method, c.path, c.body, &e)
		if res.StatusCode != c.code || e.Message == "" || e.Field != c.field || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s = %d %+v (%s); want %d field %q", c.method, c.path, res.StatusCode, e, res.Header.Get("Content-Type"), c.code, c.field)
		}
		if strings.Contains(e.Message, ".go") || strings.Contains(e.Message, "sql") {
			t.Errorf("%s %s leaks internals: %q", c.method, c.path, e.Message)
		}
	}
}
