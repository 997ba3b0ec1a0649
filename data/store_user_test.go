package data_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

func mustUser(t *testing.T, s *data.Store, email string, role data.Role) data.User {
	t.Helper()
	u, err := s.CreateUser(ctx, data.NewUser{Email: email, Role: role, PasswordHash: "hash-of-" + email, Actor: "test"})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Ann@Example.com", "ann@example.com", true},
		{"  bob@example.org ", "bob@example.org", true},
		{"", "", false},
		{"ann", "", false},
		{"ann@localhost", "", false},
		{"Ann <ann@example.com>", "", false},
		{"ann@example.com, bob@example.com", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
	} {
		got, err := data.NormalizeEmail("email", tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		var inv *data.InvalidError
		if err != nil && !errors.As(err, &inv) {
			t.Errorf("NormalizeEmail(%q) error %v is not an *InvalidError", tc.in, err)
		}
	}
}

func TestUsers(t *testing.T) {
	s := datatest.MustOpen(t)
	ann := mustUser(t, s, "Ann@Example.com", data.RoleAdmin)
	if ann.Email != "ann@example.com" || ann.Role != data.RoleAdmin || ann.Disabled() {
		t.Errorf("created %+v", ann)
	}
	if _, err := s.CreateUser(ctx, data.NewUser{Email: "ANN@example.com", Role: data.RoleViewer, PasswordHash: "x", Actor: "test"}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("second ann: err = %v; want ErrConflict", err)
	}
	var inv *data.InvalidError
	if _, err := s.CreateUser(ctx, data.NewUser{Email: "c@example.com", Role: "root", PasswordHash: "x", Actor: "test"}); !errors.As(err, &inv) || inv.Field != "role" {
		t.Errorf("bad role: err = %v; want invalid role", err)
	}
	bob := mustUser(t, s, "bob@example.com", data.RoleComms)

	u, hash, err := s.Credentials(ctx, " BOB@example.com")
	if err != nil || u.ID != bob.ID || hash != "hash-of-bob@example.com" {
		t.Errorf("Credentials(bob) = %+v, %q, %v", u, hash, err)
	}
	if _, _, err := s.Credentials(ctx, "nobody@example.com"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("Credentials(nobody): err = %v; want ErrNotFound", err)
	}

	// The only admin can be neither demoted nor disabled.
	viewer, yes := data.RoleViewer, true
	if _, err := s.UpdateUser(ctx, "ann@example.com", data.UserChange{Role: &viewer, Actor: "test"}); !errors.As(err, &inv) {
		t.Errorf("demote last admin: err = %v; want *InvalidError", err)
	}
	if _, err := s.UpdateUser(ctx, "ann@example.com", data.UserChange{Disabled: &yes, Actor: "test"}); !errors.As(err, &inv) {
		t.Errorf("disable last admin: err = %v; want *InvalidError", err)
	}
	// Disabling bob ends his sessions.
	now := time.Now()
	if err := s.CreateSession(ctx, data.NewSession{IDHash: []byte("bob-session"), UserID: bob.ID, CSRFToken: "c", At: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateUser(ctx, "bob@example.com", data.UserChange{Disabled: &yes, Actor: "ann@example.com"})
	if err != nil || !got.Disabled() {
		t.Fatalf("disable bob = %+v, %v", got, err)
	}
	if _, err := s.SessionByHash(ctx, []byte("bob-session")); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("bob's session after disable: err = %v; want ErrNotFound", err)
	}
	if err := s.CreateSession(ctx, data.NewSession{IDHash: []byte("bob-2"), UserID: bob.ID, CSRFToken: "c", At: now, ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, data.ErrConflict) {
		t.Errorf("session for disabled bob: err = %v; want ErrConflict", err)
	}
	if _, err := s.UpdateUser(ctx, "nobody@example.com", data.UserChange{Disabled: &yes, Actor: "test"}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("disable nobody: err = %v; want ErrNotFound", err)
	}
	users, err := s.Users(ctx)
	if err != nil || len(users) != 2 || users[0].Email != "ann@example.com" || !users[1].Disabled() {
		t.Errorf("Users = %+v, %v", users, err)
	}

	// The audit log has before and after for the disable.
	entries, err := s.SearchAudit(ctx, data.AuditFilter{Action: "user.disable"})
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit user.disable = %+v, %v", entries, err)
	}
	e := entries[0]
	if e.Actor != "ann@example.com" || e.Subject != "bob@example.com" ||
		!strings.Contains(e.Before, `"disabled":false`) || !strings.Contains(e.After, `"disabled":true`) {
		t.Errorf("audit entry = %+v", e)
	}
}

func TestSessions(t *testing.T) {
	s := datatest.MustOpen(t)
	ann := mustUser(t, s, "ann@example.com", data.RoleAdmin)
	at := time.UnixMilli(1_700_000_000_000).UTC()
	n := data.NewSession{IDHash: []byte("one"), UserID: ann.ID, CSRFToken: "tok", At: at, ExpiresAt: at.Add(12 * time.Hour), IP: "192.0.2.1", UserAgent: "test"}
	if err := s.CreateSession(ctx, n); err != nil {
		t.Fatal(err)
	}
	ss, err := s.SessionByHash(ctx, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if ss.User.ID != ann.ID || ss.CSRFToken != "tok" || !ss.CreatedAt.Equal(at) || !ss.ExpiresAt.Equal(at.Add(12*time.Hour)) || ss.IP != "192.0.2.1" {
		t.Errorf("SessionByHash = %+v", ss)
	}
	if err := s.TouchSession(ctx, []byte("one"), at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ss, _ = s.SessionByHash(ctx, []byte("one")); !ss.LastSeenAt.Equal(at.Add(time.Minute)) {
		t.Errorf("LastSeenAt = %v after touch", ss.LastSeenAt)
	}
	// A sign-in replaces the session presented with it.
	n2 := n
	n2.IDHash, n2.Replaces = []byte("two"), []byte("one")
	if err := s.CreateSession(ctx, n2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, []byte("one")); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("replaced session: err = %v; want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, []byte("two"), ann.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByHash(ctx, []byte("two")); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("deleted session: err = %v; want ErrNotFound", err)
	}
	if u, _ := s.UserByEmail(ctx, "ann@example.com"); !u.LastLoginAt.Equal(at) {
		t.Errorf("LastLoginAt = %v; want %v", u.LastLoginAt, at)
	}
	logins, _ := s.SearchAudit(ctx, data.AuditFilter{Action: "session.*"})
	if len(logins) != 3 || logins[0].Action != "session.logout" {
		t.Errorf("session audit = %+v", logins)
	}
}

func TestLoginFailures(t *testing.T) {
	s := datatest.MustOpen(t)
	ann := mustUser(t, s, "ann@example.com", data.RoleAdmin)
	t0 := time.UnixMilli(1_700_000_000_000).UTC()
	for i := range 3 {
		if err := s.RecordLoginFailure(ctx, "Ann@example.com", "192.0.2.1", t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordLoginFailure(ctx, "nobody@example.com", "192.0.2.1", t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	check := func(name, email string, since time.Time, want data.LoginFailures) {
		t.Helper()
		got, err := s.CountLoginFailures(ctx, email, "192.0.2.1", since)
		if err != nil || got != want {
			t.Errorf("%s: CountLoginFailures(%s) = %+v, %v; want %+v", name, email, got, err, want)
		}
	}
	check("before success", "ann@example.com", t0, data.LoginFailures{Account: 3, IP: 4})
	check("window", "ann@example.com", t0.Add(2*time.Second), data.LoginFailures{Account: 1, IP: 2})
	check("unknown account", "NOBODY@example.com", t0, data.LoginFailures{Account: 1, IP: 4})
	// A success resets the account's count, not the address's.
	if err := s.CreateSession(ctx, data.NewSession{IDHash: []byte("x"), UserID: ann.ID, CSRFToken: "c", At: t0.Add(10 * time.Second),
		ExpiresAt: t0.Add(time.Hour), IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	check("after success", "ann@example.com", t0, data.LoginFailures{Account: 0, IP: 4})
	// Attempts older than a day are forgotten at the next failure.
	if err := s.RecordLoginFailure(ctx, "ann@example.com", "192.0.2.9", t0.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	check("a day later", "nobody@example.com", t0, data.LoginFailures{Account: 0, IP: 0})
}

func TestAPITokens(t *testing.T) {
	s := datatest.MustOpen(t)
	ann := mustUser(t, s, "ann@example.com", data.RoleAdmin)
	var inv *data.InvalidError
	if _, err := s.CreateAPIToken(ctx, data.NewAPIToken{Name: "", UserID: ann.ID, Scopes: []data.Scope{data.ScopeAuditRead}, Hash: []byte("h"), Actor: "a"}, nil); !errors.As(err, &inv) {
		t.Errorf("empty name: err = %v; want *InvalidError", err)
	}
	tok, err := s.CreateAPIToken(ctx, data.NewAPIToken{Name: "ci", UserID: ann.ID,
		Scopes: []data.Scope{data.ScopeComponentsWrite, data.ScopeAuditRead}, Hash: []byte("digest-1"), Actor: ann.Email}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.ID, "tok_") || tok.User.Email != ann.Email || !tok.Has(data.ScopeAuditRead) || tok.Has(data.ScopeTokensWrite) {
		t.Errorf("created %+v", tok)
	}
	got, err := s.APITokenByHash(ctx, []byte("digest-1"))
	if err != nil || got.ID != tok.ID || got.Revoked() {
		t.Errorf("APITokenByHash = %+v, %v", got, err)
	}
	at := time.UnixMilli(1_700_000_000_000).UTC()
	if err := s.TouchAPIToken(ctx, tok.ID, "192.0.2.7", at); err != nil {
		t.Fatal(err)
	}
	list, err := s.APITokens(ctx)
	if err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(at) || list[0].LastUsedIP != "192.0.2.7" {
		t.Errorf("APITokens = %+v, %v", list, err)
	}
	rev, err := s.RevokeAPIToken(ctx, tok.ID, ann.Email)
	if err != nil || !rev.Revoked() {
		t.Fatalf("RevokeAPIToken = %+v, %v", rev, err)
	}
	if _, err := s.RevokeAPIToken(ctx, tok.ID, ann.Email); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	if _, err := s.RevokeAPIToken(ctx, "tok_nope", ann.Email); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("revoke unknown: err = %v; want ErrNotFound", err)
	}
	entries, _ := s.SearchAudit(ctx, data.AuditFilter{Subject: tok.ID})
	if len(entries) != 2 || entries[0].Action != "token.revoke" || entries[1].Action != "token.create" {
		t.Errorf("token audit = %+v", entries)
	}
	for _, e := range entries {
		if strings.Contains(e.Before+e.After, "digest") {
			t.Errorf("audit entry %d holds the token digest: %s %s", e.ID, e.Before, e.After)
		}
	}
}

func TestIdempotentCreate(t *testing.T) {
	s := datatest.MustOpen(t)
	ann := mustUser(t, s, "ann@example.com", data.RoleAdmin)
	caller, err := s.CreateAPIToken(ctx, data.NewAPIToken{Name: "caller", UserID: ann.ID, Scopes: []data.Scope{data.ScopeTokensWrite}, Hash: []byte("c"), Actor: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	idem := func(fp string) *data.Idempotency {
		return &data.Idempotency{TokenID: caller.ID, Key: "k-1", Fingerprint: []byte(fp), Seal: func(created any) (int, []byte, error) {
			b, err := json.Marshal(created.(data.APIToken).ID)
			return 201, b, err
		}}
	}
	if _, err := s.IdempotentResponse(ctx, caller.ID, "k-1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("before: err = %v; want ErrNotFound", err)
	}
	first, err := s.CreateAPIToken(ctx, data.NewAPIToken{Name: "one", UserID: ann.ID, Scopes: []data.Scope{data.ScopeAuditRead}, Hash: []byte("1"), Actor: "t"}, idem("fp"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.IdempotentResponse(ctx, caller.ID, "k-1")
	if err != nil || r.Status != 201 || !bytes.Equal(r.Fingerprint, []byte("fp")) || string(r.Sealed) != `"`+first.ID+`"` {
		t.Errorf("IdempotentResponse = %+v, %v", r, err)
	}
	// A second create under the same key conflicts and creates nothing.
	if _, err := s.CreateAPIToken(ctx, data.NewAPIToken{Name: "two", UserID: ann.ID, Scopes: []data.Scope{data.ScopeAuditRead}, Hash: []byte("2"), Actor: "t"}, idem("fp")); !errors.Is(err, data.ErrConflict) {
		t.Errorf("second create: err = %v; want ErrConflict", err)
	}
	if list, _ := s.APITokens(ctx); len(list) != 2 {
		t.Errorf("%d tokens after the conflicting create; want 2", len(list))
	}
	// A key expires after a day.
	s.Now = func() time.Time { return time.Now().Add(data.IdempotencyKept + time.Minute) }
	if _, err := s.IdempotentResponse(ctx, caller.ID, "k-1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("after a day: err = %v; want ErrNotFound", err)
	}
}

func TestAuditSearchAndAppendOnly(t *testing.T) {
	s := datatest.MustOpen(t)
	base := time.UnixMilli(1_700_000_000_000).UTC()
	i := 0
	s.Now = func() time.Time { i++; return base.Add(time.Duration(i) * time.Minute) }
	for _, a := range []data.AuditChange{
		{Actor: "ann@example.com", Action: "user.create", Subject: "bob@example.com"},
		{Actor: "ann@example.com", Action: "token.create", Subject: "tok_1"},
		{Actor: "Bob@example.com", Action: "user.role", Subject: "carol@example.com", Before: map[string]string{"role": "viewer"}, After: map[string]string{"role": "comms"}},
		{Actor: "bob@example.com (token tok_1)", Action: "user.disable", Subject: "carol@example.com"},
		{Actor: "bob_example.com (token tok_2)", Action: "user.disable", Subject: "dave@example.com"},
	} {
		if err := s.RecordAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	count := func(name string, f data.AuditFilter, want int) []data.AuditEntry {
		t.Helper()
		got, err := s.SearchAudit(ctx, f)
		if err != nil || len(got) != want {
			t.Errorf("%s: %d entries, %v; want %d", name, len(got), err, want)
		}
		return got
	}
	all := count("all", data.AuditFilter{}, 5)
	if len(all) == 5 && (all[1].Action != "user.disable" || all[2].Before != `{"role":"viewer"}`) {
		t.Errorf("newest first with before/after: %+v", all)
	}
	count("actor any case, and through tokens", data.AuditFilter{Actor: "BOB@example.com"}, 2)
	count("underscore is not a wildcard", data.AuditFilter{Actor: "bob_example.com"}, 1)
	count("action prefix", data.AuditFilter{Action: "user.*"}, 4)
	count("action exact", data.AuditFilter{Action: "user"}, 0)
	count("subject", data.AuditFilter{Subject: "carol@example.com"}, 2)
	count("since", data.AuditFilter{Since: base.Add(3 * time.Minute)}, 3)
	count("until", data.AuditFilter{Until: base.Add(3 * time.Minute)}, 2)
	count("page", data.AuditFilter{BeforeID: all[1].ID, Limit: 2}, 2)
	var inv *data.InvalidError
	if _, err := s.SearchAudit(ctx, data.AuditFilter{Limit: data.MaxAuditPage + 1}); !errors.As(err, &inv) {
		t.Errorf("huge limit: err = %v; want *InvalidError", err)
	}

	// Nothing may change or delete an entry, even with SQL.
	db := rawDB(t, s)
	if _, err := db.ExecContext(ctx, "UPDATE audit_log SET actor = 'mallory'"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE audit_log: err = %v; want append-only", err)
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM audit_log"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("DELETE FROM audit_log: err = %v; want append-only", err)
	}
}

// rawDB opens the store's file directly, as another program would.
func rawDB(t *testing.T, s *data.Store) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+s.Path()+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
