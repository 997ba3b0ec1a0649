package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

func TestAdminSignInAndOut(t *testing.T) {
	h := newAdminHarness(t)
	b := h.browser()

	// Signed out, a page sends you to sign in and back.
	r := b.do("GET", "/admin/users?x=1", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login?next=%2Fadmin%2Fusers%3Fx%3D1" {
		t.Fatalf("signed-out GET /admin/users = %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = b.do("GET", "/admin/login?next=%2Fadmin%2Fusers", nil)
	if r.StatusCode != 200 || !strings.Contains(r.body, `name="next" value="/admin/users"`) {
		t.Fatalf("login page = %d\n%s", r.StatusCode, r.body)
	}
	for k, want := range map[string]string{
		"Cache-Control":           "no-store",
		"Content-Security-Policy": adminContentSecurityPolicy,
		"X-Frame-Options":         "DENY",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("login page %s = %q; want %q", k, got, want)
		}
	}
	if b.cookies[loginCookieName] == nil {
		t.Fatal("no sign-in form cookie")
	}

	r = b.post("/admin/login?next=%2Fadmin%2Fusers", "/admin/login", url.Values{"email": {"ANN@example.com"}, "password": {testPassword}, "next": {"/admin/users"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/users" {
		t.Fatalf("sign in = %d %s\n%s", r.StatusCode, r.Header.Get("Location"), problems(r.body))
	}
	c := b.cookies[sessionCookieName]
	if c == nil {
		t.Fatal("no session cookie after sign-in")
	}
	if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/admin" || c.MaxAge != int((12*time.Hour).Seconds()) {
		t.Errorf("session cookie = %+v; want HttpOnly, not Secure (http page), SameSite=Lax, Path=/admin, Max-Age 12h", c)
	}
	if _, ok := parseToken(c.Value); !ok {
		t.Errorf("session cookie value %q is not a 32-byte token", c.Value)
	}
	// The store keeps a digest, not the id.
	raw, _ := parseToken(c.Value)
	if _, err := h.store.SessionByHash(context.Background(), raw); err == nil {
		t.Error("the session is found by its raw id; it must be stored as a digest")
	}
	if b.cookies[loginCookieName] != nil {
		t.Error("the sign-in form cookie outlived the sign-in")
	}

	r = b.do("GET", "/admin/", nil)
	if r.StatusCode != 200 || !strings.Contains(r.body, "ann@example.com") || !strings.Contains(r.body, "Dashboard") {
		t.Fatalf("dashboard = %d\n%s", r.StatusCode, r.body)
	}
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Vary") != "Cookie" {
		t.Errorf("dashboard headers: Cache-Control %q, Vary %q", r.Header.Get("Cache-Control"), r.Header.Get("Vary"))
	}
	// Signed in, the sign-in page goes to the dashboard.
	if r := b.do("GET", "/admin/login", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("login page when signed in = %d; want 303", r.StatusCode)
	}

	r = b.post("/admin/", "/admin/logout", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login?signed_out=1" {
		t.Fatalf("sign out = %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if b.cookies[sessionCookieName] != nil {
		t.Error("session cookie kept after sign-out")
	}
	// The old cookie is dead even if a client keeps it.
	b.cookies[sessionCookieName] = c
	if r := b.do("GET", "/admin/", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("old session after sign-out: %d; want a redirect to sign in", r.StatusCode)
	}
	entries, _ := h.store.SearchAudit(context.Background(), data.AuditFilter{Action: "session.*"})
	if len(entries) != 2 || entries[0].Action != "session.logout" || entries[1].Action != "session.login" || entries[1].Actor != "ann@example.com" {
		t.Errorf("audit of sign-in and out = %+v", entries)
	}
}

func TestAdminSecureCookies(t *testing.T) {
	h := newAdminHarness(t, func(o *Options) { o.Page.URL = "https://status.example.com" })
	b := h.browser()
	b.do("GET", "/admin/login", nil)
	if c := b.cookies[secureLoginCookieName]; c == nil || !c.Secure || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in cookie on an https page = %+v; want __Secure-, Secure, SameSite=Strict", c)
	}
	b.mustLogin("ann@example.com")
	c := b.cookies[secureSessionCookieName]
	if c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("session cookie on an https page = %+v; want __Secure-, Secure, HttpOnly", c)
	}
	r := b.do("GET", "/admin/", nil)
	if r.StatusCode != 200 || r.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("dashboard over https: %d, HSTS %q", r.StatusCode, r.Header.Get("Strict-Transport-Security"))
	}
}

// TestAdminSessionRotation: an id a browser had before signing in (planted
// by an attacker, say) is deleted at sign-in, never promoted.
func TestAdminSessionRotation(t *testing.T) {
	h := newAdminHarness(t)
	victim := h.browser().mustLogin("vic@example.com")
	planted := victim.cookies[sessionCookieName].Value
	b := h.browser()
	tok := b.csrf("/admin/login")
	b.cookies[sessionCookieName] = &http.Cookie{Name: sessionCookieName, Value: planted, Path: "/admin"}
	if r := b.do("POST", "/admin/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}, "csrf": {tok}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with a planted id: %d\n%s", r.StatusCode, problems(r.body))
	}
	if got := b.cookies[sessionCookieName].Value; got == planted {
		t.Fatal("sign-in kept the session id the browser came with")
	}
	victim.cookies[sessionCookieName].Value = planted
	if r := victim.do("GET", "/admin/", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("the replaced session still works: %d", r.StatusCode)
	}
}

func TestAdminSessionExpiry(t *testing.T) {
	h := newAdminHarness(t)
	b := h.browser().mustLogin("cara@example.com")
	ok := func(name string, want int) {
		t.Helper()
		if r := b.do("GET", "/admin/", nil); r.StatusCode != want {
			t.Fatalf("%s: dashboard = %d; want %d", name, r.StatusCode, want)
		}
	}
	// Idle: 59 minutes between requests keeps it alive, again and again,
	// up to the absolute limit of 12 hours.
	for range 12 {
		h.advance(59 * time.Minute)
		ok("busy session", 200)
	}
	h.advance(13 * time.Minute) // 12 h 1 min after sign-in
	ok("past the absolute limit", http.StatusSeeOther)
	if b.cookies[sessionCookieName] != nil {
		t.Error("an expired session's cookie was not cleared")
	}

	b.mustLogin("cara@example.com")
	h.advance(time.Hour)
	ok("idle for an hour", http.StatusSeeOther)

	// A disabled user's session ends at once.
	b.mustLogin("cara@example.com")
	admin := h.browser().mustLogin("ann@example.com")
	if r := admin.post("/admin/users", "/admin/users/disable", url.Values{"email": {"cara@example.com"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable cara = %d\n%s", r.StatusCode, problems(r.body))
	}
	ok("disabled user", http.StatusSeeOther)
}

func TestAdminCSRF(t *testing.T) {
	h := newAdminHarness(t)
	b := h.browser().mustLogin("ann@example.com")
	form := func() url.Values {
		return url.Values{"email": {"new@example.com"}, "role": {"viewer"}, "password": {testPassword}}
	}
	good := b.csrf("/admin/users")

	// No token, a wrong token.
	for name, tok := range map[string]string{"missing": "", "wrong": strings.Repeat("A", 43)} {
		f := form()
		if tok != "" {
			f.Set("csrf", tok)
		}
		if r := b.do("POST", "/admin/users", f); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s token: %d; want 403", name, r.StatusCode)
		}
	}
	// A token from another site's page: refused by origin even with the
	// right token.
	for _, hdr := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {"Origin", "null"}} {
		f := form()
		f.Set("csrf", good)
		if r := b.do("POST", "/admin/users", f, hdr...); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s: %d; want 403", hdr[0], hdr[1], r.StatusCode)
		}
	}
	// A stale token: the form was opened in a previous session.
	b.post("/admin/", "/admin/logout", nil)
	b.mustLogin("ann@example.com")
	f := form()
	f.Set("csrf", good)
	if r := b.do("POST", "/admin/users", f); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "expired") {
		t.Errorf("stale token: %d; want 403 saying the form expired", r.StatusCode)
	}
	if users, _ := h.store.Users(context.Background()); len(users) != 3 {
		t.Fatalf("%d users after refused forms; want 3", len(users))
	}
	// The right token from the same origin works.
	f = form()
	f.Set("csrf", b.csrf("/admin/users"))
	if r := b.do("POST", "/admin/users", f, "Origin", "http://status.example.com", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("good form: %d\n%s", r.StatusCode, problems(r.body))
	}

	// The sign-in form has its own token: without the cookie or with a
	// forged token it is shown again (email kept), not processed.
	anon := h.browser()
	r := anon.do("POST", "/admin/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}, "csrf": {"x"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, `value="ann@example.com"`) || anon.cookies[sessionCookieName] != nil {
		t.Errorf("forged sign-in: %d, session %v", r.StatusCode, anon.cookies[sessionCookieName])
	}
	// ...and then works with the token the page it got back carries.
	m := csrfRe.FindStringSubmatch(r.body)
	r = anon.do("POST", "/admin/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}, "csrf": {m[1]}})
	if r.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in after an expired form: %d\n%s", r.StatusCode, problems(r.body))
	}
	// A token made for another browser's cookie is refused.
	other := h.browser()
	otherTok := other.csrf("/admin/login")
	third := h.browser()
	third.do("GET", "/admin/login", nil)
	if r := third.do("POST", "/admin/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}, "csrf": {otherTok}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("another browser's sign-in token: %d; want 403", r.StatusCode)
	}
}

func TestAdminLoginThrottle(t *testing.T) {
	h := newAdminHarness(t)
	fail := func(b *browser, email string) response {
		t.Helper()
		return b.login(email, "not the password at all")
	}
	// Per account: the 11th attempt within 15 minutes is refused even with
	// the right password, from any address.
	b := h.browser()
	for i := range 10 {
		b.ip = "198.51.100." + string(rune('1'+i%5))
		if r := fail(b, "ann@example.com"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d; want 401", i+1, r.StatusCode)
		}
	}
	b.ip = "203.0.113.50"
	r := b.login("ann@example.com", testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "900" || b.cookies[sessionCookieName] != nil {
		t.Fatalf("right password on a throttled account: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// Other accounts are not affected.
	h.browser().mustLogin("cara@example.com")
	// The window passes.
	h.advance(16 * time.Minute)
	h.browser().mustLogin("ann@example.com")

	// Per address: 30 failures from one address over many accounts, known
	// and unknown, stop that address; another address still signs in. The
	// address is the one the proxy appended: a different made-up address
	// in front of it each time does not escape the limit.
	attacker := h.browser()
	for i := range 30 {
		attacker.ip = fmt.Sprintf("203.0.113.%d, 192.0.2.66", i+1)
		email := "user" + string(rune('a'+i%26)) + "@example.com"
		if i%3 == 0 {
			email = "vic@example.com"
		}
		if i%3 == 0 && i >= 27 {
			email = "cara@example.com"
		}
		if r := fail(attacker, email); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("address failure %d (%s): %d; want 401", i+1, email, r.StatusCode)
		}
	}
	attacker.ip = "192.0.2.66"
	if r := attacker.login("vic@example.com", testPassword); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("throttled address, right password: %d; want 429", r.StatusCode)
	}
	h.browser().mustLogin("vic@example.com")
}

// TestAdminNoEnumeration: an unknown address, a wrong password and a
// disabled account get the same answer, cost one password check each, and
// count against the throttle alike.
func TestAdminNoEnumeration(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	yes := true
	if _, err := h.store.UpdateUser(ctx, "vic@example.com", data.UserChange{Disabled: &yes, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	tokenRe := regexp.MustCompile(`name="csrf" value="[^"]*"`)
	var first response
	for i, c := range []struct{ email, pw string }{
		{"nobody@example.com", "not the password at all"},
		{"ann@example.com", "not the password at all"},
		{"vic@example.com", testPassword}, // disabled, right password
		{"Nobody@Example.com ", testPassword},
	} {
		b := h.browser()
		b.ip = "198.51.100.7"
		before := passwordChecks.Load()
		r := b.login(c.email, c.pw)
		if n := passwordChecks.Load() - before; n != 1 {
			t.Errorf("%s: %d password checks; want 1", c.email, n)
		}
		body := strings.ReplaceAll(tokenRe.ReplaceAllString(r.body, "TOKEN"), strings.TrimSpace(c.email), "EMAIL")
		if i == 0 {
			first = response{r.Response, body}
			if r.StatusCode != http.StatusUnauthorized || !strings.Contains(body, errBadLogin) {
				t.Fatalf("unknown account: %d\n%s", r.StatusCode, problems(r.body))
			}
			continue
		}
		if r.StatusCode != first.StatusCode || body != first.body {
			t.Errorf("%s: answer differs from the unknown account's: %d\n%s", c.email, r.StatusCode, problems(r.body))
		}
		if r.Header.Get("Set-Cookie") != "" && b.cookies[sessionCookieName] != nil {
			t.Errorf("%s: got a session", c.email)
		}
	}
	f, err := h.store.CountLoginFailures(ctx, "nobody@example.com", "198.51.100.7", h.clock().Add(-time.Hour))
	if err != nil || f.Account != 2 || f.IP != 4 {
		t.Errorf("failures counted = %+v, %v; want 2 for the unknown account, 4 for the address", f, err)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/users":           "/admin/users",
		"/admin/audit?actor=x":   "/admin/audit?actor=x",
		"":                       "/admin/",
		"/":                      "/admin/",
		"//evil.example/admin/":  "/admin/",
		"https://evil.example/":  "/admin/",
		"/admin\\..\\x":          "/admin/",
		"/admin/\r\nSet-Cookie:": "/admin/",
		"/administrator":         "/admin/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashWith(argonParams{memory: 64, time: 1, threads: 1, keyLen: 32, saltLen: 16}, "pässwörd")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string", h)
	}
	for pw, want := range map[string]bool{"pässwörd": true, "passwörd": false, "": false, "pässwörd ": false} {
		if ok, err := CheckPassword(h, pw); ok != want || err != nil {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	h2, _ := hashWith(argonParams{memory: 64, time: 1, threads: 1, keyLen: 32, saltLen: 16}, "pässwörd")
	if h2 == h {
		t.Error("two hashes of one password are equal: no salt?")
	}
	// The production cost is what OWASP recommends at least.
	if p := (argonParams{memory: 19 * 1024, time: 2, threads: 1}); p.memory < 19*1024 || p.time < 2 {
		t.Error("argon2id below OWASP's minimum")
	}
	for _, bad := range []string{"", "$2a$10$abc", "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		if ok, err := CheckPassword(bad, "x"); ok || err == nil {
			t.Errorf("CheckPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
	long := strings.Repeat("x", 4*MaxPasswordLength)
	hl, _ := hashWith(argonParams{memory: 64, time: 1, threads: 1, keyLen: 32, saltLen: 16}, long)
	if ok, _ := CheckPassword(hl, long+"tail"); ok {
		t.Error("an over-long password matched by its prefix")
	}
	for pw, ok := range map[string]bool{"short": false, strings.Repeat("é", 12): true, strings.Repeat("x", MaxPasswordLength+1): false, "\xff\xfe" + strings.Repeat("x", 12): false} {
		if err := ValidatePassword(pw); (err == nil) != ok {
			t.Errorf("ValidatePassword(%.20q) = %v; want ok=%v", pw, err, ok)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	_, good := randomToken()
	for _, s := range []string{good, "", "x", good + "=", strings.Repeat("A", 43), strings.Repeat("_", 43), "%00" + good[3:]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		b, ok := parseToken(v)
		if ok && (len(b) != tokenBytes || len(v) != 43) {
			t.Fatalf("parseToken(%q) accepted %d bytes", v, len(b))
		}
	})
}

func FuzzParseBearer(f *testing.F) {
	secret, _ := newAPIToken()
	for _, s := range []string{"Bearer " + secret, "bearer " + secret, "Basic " + secret, "Bearer", "Bearer  " + secret + " ", "Bearer sdt_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseBearer(v)
		if ok && len(d) != 32 {
			t.Fatalf("parseBearer(%q) = %d-byte digest", v, len(d))
		}
	})
}

func FuzzParsePasswordHash(f *testing.F) {
	h, _ := hashWith(argonParams{memory: 64, time: 1, threads: 1, keyLen: 32, saltLen: 16}, "x")
	f.Add(h)
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Fuzz(func(t *testing.T, v string) {
		p, _, _, err := parseHash(v)
		if err == nil && (p.memory > 256*1024 || p.time > 16 || p.threads > 16) {
			t.Fatalf("parseHash(%q) accepted a cost of %+v", v, p)
		}
	})
}
