package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

func userCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runUser(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

func TestUserCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "statusd.db") // created by the first command
	const pw = "correct horse battery staple\n"
	for _, c := range []struct {
		name, stdin string
		args        []string
		code        int
		out, err    string
	}{
		{"add the first admin", pw, []string{"add", "--db", db, "--email", "Ann@Example.com", "--role", "admin"}, 0, "added ann@example.com (admin)\n", ""},
		{"add with --password-stdin", "another long password\r\n", []string{"add", "--db", db, "--email", "cara@example.com", "--role", "comms", "--password-stdin"}, 0, "added cara@example.com (comms)\n", ""},
		{"twice", pw, []string{"add", "--db", db, "--email", "ann@example.com", "--role", "viewer"}, 1, "", "already has an account"},
		{"bad role", pw, []string{"add", "--db", db, "--email", "x@example.com", "--role", "root"}, 2, "", `"root" is not one of admin, comms, viewer`},
		{"bad address", pw, []string{"add", "--db", db, "--email", "x", "--role", "viewer"}, 2, "", "not an e-mail address"},
		{"short password", "short\n", []string{"add", "--db", db, "--email", "x@example.com", "--role", "viewer"}, 1, "", "use at least 12"},
		{"no password", "", []string{"add", "--db", db, "--email", "x@example.com", "--role", "viewer"}, 1, "", "no password on standard input"},
		{"disable the last admin", "", []string{"disable", "--db", db, "ann@example.com"}, 1, "", "only active admin"},
		{"promote", "", []string{"role", "--db", db, "cara@example.com", "admin"}, 0, "cara@example.com is now admin\n", ""},
		{"disable", "", []string{"disable", "--db", db, "ann@example.com"}, 0, "disabled ann@example.com\n", ""},
		{"list", "", []string{"list", "--db", db}, 0, "ann@example.com   admin  disabled  never", ""},
		{"enable", "", []string{"enable", "--db", db, "ann@example.com"}, 0, "enabled ann@example.com\n", ""},
		{"passwd", "a brand new password\n", []string{"passwd", "--db", db, "ann@example.com"}, 0, "set a new password for ann@example.com", ""},
		{"passwd unknown", "a brand new password\n", []string{"passwd", "--db", db, "nobody@example.com"}, 1, "", "no account nobody@example.com"},
		{"unknown command", "", []string{"remove", "--db", db}, 2, "", `unknown command "remove"`},
		{"missing argument", "", []string{"disable", "--db", db}, 2, "", "want 1 argument"},
		{"no command", "", nil, 2, "", "usage: statusd user"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := userCmd(t, c.stdin, c.args...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errs, c.err) {
				t.Errorf("user %v = %d\nstdout %q\nstderr %q\nwant %d, stdout with %q, stderr with %q", c.args, code, out, errs, c.code, c.out, c.err)
			}
		})
	}
	// What the commands did is in the audit log, by the command line user.
	s, err := openStore(t, db)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := s.SearchAudit(context.Background(), data.AuditFilter{Action: "user.*"})
	if err != nil || len(entries) != 6 || !strings.HasPrefix(entries[0].Actor, "cli:") {
		t.Errorf("audit = %+v, %v", entries, err)
	}
}

// TestAdminEndToEnd walks the README's administration section against the
// real Main: create the first admin from the command line, sign in, make an
// API token in the UI, set an override through the API and see it on the
// public API.
func TestAdminEndToEnd(t *testing.T) {
	m, base := startMain(t, "../../config.example.yaml")
	if code, _, errs := userCmd(t, "correct horse battery staple\n", "add", "--db", m.Config.Database.Path, "--email", "ann@example.com", "--role", "admin"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	cookies := map[string]string{}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		for k, v := range cookies {
			req.AddCookie(&http.Cookie{Name: k, Value: v})
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Cookies() {
			if c.MaxAge < 0 {
				delete(cookies, c.Name)
			} else {
				cookies[c.Name] = c.Value
			}
		}
		return res, string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	_, page := do("GET", "/admin/login", nil)
	tok := csrf.FindStringSubmatch(page)
	if tok == nil {
		t.Fatalf("no sign-in form:\n%s", page)
	}
	res, _ := do("POST", "/admin/login", url.Values{"csrf": {tok[1]}, "email": {"ann@example.com"}, "password": {"correct horse battery staple"}})
	// The example page is https, so the cookie is Secure and __Secure-.
	if res.StatusCode != http.StatusSeeOther || cookies["__Secure-statusd_session"] == "" {
		t.Fatalf("sign in: %d, cookies %v", res.StatusCode, cookies)
	}
	_, page = do("GET", "/admin/tokens", nil)
	res, page = do("POST", "/admin/tokens", url.Values{"csrf": {csrf.FindStringSubmatch(page)[1]}, "name": {"deploy"}, "scope": {"components:write"}})
	secret := regexp.MustCompile(`value="(sdt_[^"]+)"`).FindStringSubmatch(page)
	if res.StatusCode != http.StatusCreated || secret == nil {
		t.Fatalf("create token: %d", res.StatusCode)
	}
	body := `{"status":"major_outage","reason":"card payments failing"}`
	req, _ := http.NewRequest("PUT", base+"/api/admin/components/payments/override", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret[1])
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st struct{ Status string }
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || res.StatusCode != 200 || st.Status != "major_outage" {
		t.Fatalf("PUT override: %d %+v %v", res.StatusCode, st, err)
	}
	res.Body.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, _, b := httpGet(t, base+"/api/v2/components.json")
		if bytes.Contains(b, []byte(`"major_outage"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the override never reached the public API: %s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAdminOwnListener: with admin.listen the admin is served there and
// not on the public listener.
func TestAdminOwnListener(t *testing.T) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, append(example, "\nadmin:\n  listen: 127.0.0.1:0\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	m, base := startMain(t, path)
	if m.AdminAddr() == "" {
		t.Fatal("no admin listener")
	}
	if code, _, _ := httpGet(t, base+"/admin/login"); code != http.StatusNotFound {
		t.Errorf("public listener /admin/login = %d; want 404", code)
	}
	if code, hdr, _ := httpGet(t, "http://"+m.AdminAddr()+"/admin/login"); code != http.StatusOK || hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("admin listener /admin/login = %d (%s); want 200, no-store", code, hdr.Get("Cache-Control"))
	}
	if code, _, _ := httpGet(t, "http://"+m.AdminAddr()+"/api/admin/openapi.json"); code != http.StatusOK {
		t.Errorf("admin listener openapi.json = %d; want 200", code)
	}
}
