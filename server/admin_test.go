package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// Tests hash with a tiny argon2 cost: the cost is a parameter of each hash,
// and what is tested here is the flow around it, not argon2.
func init() {
	defaultArgon = argonParams{memory: 64, time: 1, threads: 1, keyLen: 32, saltLen: 16}
}

const testPassword = "correct horse battery staple"

// adminHarness is a server with the admin app on a real store, a clock the
// test moves, and one account per role.
type adminHarness struct {
	t     testing.TB
	srv   *Server
	store *data.Store

	mu  sync.Mutex
	now time.Time
}

func (h *adminHarness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *adminHarness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

func newAdminHarness(t testing.TB, opts ...func(*Options)) *adminHarness {
	t.Helper()
	ctx := context.Background()
	h := &adminHarness{t: t, store: datatest.MustOpen(t), now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	h.store.Now = h.clock
	if _, err := h.store.SyncCatalog(ctx, fixtureCatalog(), "config"); err != nil {
		t.Fatal(err)
	}
	for email, role := range map[string]data.Role{"ann@example.com": data.RoleAdmin, "cara@example.com": data.RoleComms, "vic@example.com": data.RoleViewer} {
		hash, err := HashPassword(testPassword)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.CreateUser(ctx, data.NewUser{Email: email, Role: role, PasswordHash: hash, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Page: Page{ID: "test", Name: "Test & Co", URL: "http://status.example.com", Location: berlin}, Now: h.clock,
		Admin: AdminOptions{Store: h.store, ProxyHeader: "X-Forwarded-For"}}
	for _, f := range opts {
		f(&o)
	}
	srv, err := New(h.store, o)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	return h
}

// browser keeps cookies across requests, as a browser would for the test
// server's one host.
type browser struct {
	h       *adminHarness
	cookies map[string]*http.Cookie
	ip      string
	header  http.Header // sent with every request
}

func (h *adminHarness) browser() *browser {
	return &browser{h: h, cookies: map[string]*http.Cookie{}, ip: "192.0.2.10", header: http.Header{}}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) response {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.Host = "status.example.com"
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-Forwarded-For", b.ip)
	for k, v := range b.header {
		req.Header[k] = v
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, c := range b.cookies {
		if strings.HasPrefix(path, c.Path) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	res, err := b.h.srv.App().Test(req, -1)
	if err != nil {
		b.h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
			continue
		}
		b.cookies[c.Name] = c
	}
	return response{res, string(raw)}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrf loads path and returns the form token on it.
func (b *browser) csrf(path string) string {
	b.h.t.Helper()
	r := b.do("GET", path, nil)
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		b.h.t.Fatalf("GET %s (%d): no csrf token in the page", path, r.StatusCode)
	}
	return m[1]
}

// post sends a form with the token of the page it came from.
func (b *browser) post(from, path string, form url.Values) response {
	b.h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf(from))
	return b.do("POST", path, form)
}

func (b *browser) login(email, password string) response {
	b.h.t.Helper()
	return b.post("/admin/login", "/admin/login", url.Values{"email": {email}, "password": {password}, "next": {"/admin/"}})
}

func (b *browser) mustLogin(email string) *browser {
	b.h.t.Helper()
	if r := b.login(email, testPassword); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/" {
		b.h.t.Fatalf("sign in as %s: %d %s\n%s", email, r.StatusCode, r.Header.Get("Location"), problems(r.body))
	}
	return b
}

var problemsRe = regexp.MustCompile(`(?s)<div class="problems".*?</div>|<div class="card error">.*?</div>`)

// problems is the error part of a page, for failure messages.
func problems(body string) string {
	return strings.Join(problemsRe.FindAllString(body, -1), "\n")
}

// api calls the admin API with a bearer token and decodes a JSON answer
// into out (when not nil).
func (h *adminHarness) api(token, method, path string, body any, out any, hdr ...string) *http.Response {
	h.t.Helper()
	var r io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, r)
	req.Host = "status.example.com"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := h.srv.App().Test(req, -1)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			h.t.Fatalf("%s %s: %d %s: %v", method, path, res.StatusCode, raw, err)
		}
	}
	res.Body = io.NopCloser(strings.NewReader(string(raw)))
	return res
}

// token makes an API token for the user with the scopes, straight in the
// store, and returns its secret.
func (h *adminHarness) token(email string, scopes ...data.Scope) string {
	h.t.Helper()
	u, err := h.store.UserByEmail(context.Background(), email)
	if err != nil {
		h.t.Fatal(err)
	}
	secret, hash := newAPIToken()
	if _, err := h.store.CreateAPIToken(context.Background(), data.NewAPIToken{Name: "test " + strings.Join(scopesText(scopes), " "),
		UserID: u.ID, Scopes: scopes, Hash: hash, Actor: "test"}, nil); err != nil {
		h.t.Fatal(err)
	}
	return secret
}

func scopesText(scopes []data.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

func mustCompile(re string) *regexp.Regexp { return regexp.MustCompile(re) }

// rawDBServer opens the store's file directly, to look at what it keeps.
func rawDBServer(t *testing.T, s *data.Store) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+s.Path()+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// BenchmarkServePageThroughDispatcher is BenchmarkServePage through the
// listener's handler, with the admin mounted: the dispatcher's prefix check
// is all the public path pays for the admin.
func BenchmarkServePageThroughDispatcher(b *testing.B) {
	h := newAdminHarness(b)
	h.srv.App().Handler() // builds the route tree, as serving does
	handler := h.srv.App().Server().Handler
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.Set("Accept-Encoding", "gzip, deflate, br")
		handler(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}
