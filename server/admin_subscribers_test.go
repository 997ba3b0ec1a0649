package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

func subscriberScopeCalls() []struct {
	method, path string
	body         any
	scope        data.Scope
} {
	return []struct {
		method, path string
		body         any
		scope        data.Scope
	}{
		{"GET", "/api/admin/subscribers", nil, data.ScopeSubscribersRead},
		{"GET", "/api/admin/subscribers/export.csv", nil, data.ScopeSubscribersRead},
		{"POST", "/api/admin/subscribers/import", nil, data.ScopeSubscribersWrite},
		{"DELETE", "/api/admin/subscribers/999", nil, data.ScopeSubscribersWrite},
		{"GET", "/api/admin/deliveries", nil, data.ScopeSubscribersRead},
		{"GET", "/api/admin/events/1/deliveries/counts", nil, data.ScopeSubscribersRead},
		{"POST", "/api/admin/deliveries/999/retry", nil, data.ScopeSubscribersWrite},
	}
}

// apiCSV sends a CSV body to the admin API and returns the status and body.
func (h *adminHarness) apiCSV(token, method, path, body string) (int, string) {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "status.example.com"
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := h.srv.App().Test(req, -1)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return res.StatusCode, string(raw)
}

func (h *adminHarness) mustImport(tok, body string) apiSubscriberImport {
	h.t.Helper()
	code, out := h.apiCSV(tok, "POST", "/api/admin/subscribers/import", body)
	if code != 200 {
		h.t.Fatalf("import: %d %s", code, out)
	}
	var res apiSubscriberImport
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

func TestAdminSubscribersImportSearchExportDelete(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	w := h.token("ann@example.com", data.ScopeSubscribersWrite)
	r := h.token("ann@example.com", data.ScopeSubscribersRead)

	got := h.mustImport(w, "email,components,journeys\n"+
		"Alice@Example.COM,,\n"+
		"bob@example.org,payments,\n"+
		"carol@example.net,,\n"+
		"alice@example.com,,\n") // the same address again: skipped
	if got.Added != 3 || got.Skipped != 1 {
		t.Fatalf("import: %+v; want 3 added, 1 skipped", got)
	}
	// A pending subscriber from the public flow, to filter on.
	if _, err := h.store.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "dave@example.com"}, time.Hour); err != nil {
		t.Fatal(err)
	}

	var page apiSubscriberPage
	if res := h.api(r, "GET", "/api/admin/subscribers", nil, &page); res.StatusCode != 200 || len(page.Subscribers) != 4 {
		t.Fatalf("list: %d %+v", res.StatusCode, page)
	}
	alice := page.Subscribers[0]
	if alice.Address != "Alice@example.com" || alice.Kind != "email" || alice.ConfirmedAt == nil {
		t.Errorf("imported alice: %+v; want the normalised address, confirmed", alice)
	}
	if b := page.Subscribers[1]; len(b.Components) != 1 || b.Components[0] != "payments" {
		t.Errorf("bob's components: %v", b.Components)
	}
	h.api(r, "GET", "/api/admin/subscribers?q=example.org", nil, &page)
	if len(page.Subscribers) != 1 || page.Subscribers[0].Address != "bob@example.org" {
		t.Errorf("search example.org: %+v", page.Subscribers)
	}
	h.api(r, "GET", "/api/admin/subscribers?confirmed=false", nil, &page)
	if len(page.Subscribers) != 1 || page.Subscribers[0].Address != "dave@example.com" || page.Subscribers[0].ConfirmedAt != nil {
		t.Errorf("pending: %+v", page.Subscribers)
	}
	h.api(r, "GET", "/api/admin/subscribers?kind=webhook", nil, &page)
	if len(page.Subscribers) != 0 {
		t.Errorf("webhooks: %+v", page.Subscribers)
	}
	h.api(r, "GET", "/api/admin/subscribers?limit=2", nil, &page)
	if len(page.Subscribers) != 2 || page.NextAfter != page.Subscribers[1].ID {
		t.Fatalf("first page: %+v", page)
	}
	h.api(r, "GET", "/api/admin/subscribers?limit=2&after="+itoa(page.NextAfter), nil, &page)
	if len(page.Subscribers) != 2 || page.Subscribers[0].Address != "carol@example.net" {
		t.Errorf("second page: %+v", page)
	}
	if res := h.api(r, "GET", "/api/admin/subscribers?kind=pigeon", nil, nil); res.StatusCode != 400 {
		t.Errorf("kind=pigeon: %d; want 400", res.StatusCode)
	}

	// Export: every subscriber, one row each, in id order.
	code, body := h.apiCSV(r, "GET", "/api/admin/subscribers/export.csv", "")
	if code != 200 {
		t.Fatalf("export: %d %s", code, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, body)
	}
	if len(rows) != 5 || strings.Join(rows[0], ",") != "id,kind,address,scope,confirmed_at,created_at" {
		t.Fatalf("export rows:\n%s", body)
	}
	if rows[1][1] != "email" || rows[1][2] != "Alice@example.com" || rows[1][3] != "all" || rows[1][4] != "2026-11-24T09:00:00Z" || rows[1][5] != "2026-11-24T09:00:00Z" {
		t.Errorf("alice's row: %q", rows[1])
	}
	if rows[2][3] != "component:payments" || rows[4][2] != "dave@example.com" || rows[4][4] != "" {
		t.Errorf("rows: %q %q", rows[2], rows[4])
	}
	// Who took a copy of the addresses is in the audit log.
	if entries, err := h.store.SearchAudit(context.Background(), data.AuditFilter{Action: "subscriber.export"}); err != nil || len(entries) != 1 ||
		!strings.Contains(entries[0].Actor, "(token ") {
		t.Errorf("export audit entries = %+v, %v; want one naming the token", entries, err)
	}

	// Delete: gone from the list, audited without the address; again 404.
	if res := h.api(w, "DELETE", "/api/admin/subscribers/"+itoa(alice.ID), nil, nil); res.StatusCode != 204 {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	h.api(r, "GET", "/api/admin/subscribers?q=alice", nil, &page)
	if len(page.Subscribers) != 0 {
		t.Errorf("alice still listed: %+v", page.Subscribers)
	}
	if res := h.api(w, "DELETE", "/api/admin/subscribers/"+itoa(alice.ID), nil, nil); res.StatusCode != 404 {
		t.Errorf("delete again: %d; want 404", res.StatusCode)
	}
	actions := map[string]bool{}
	for _, action := range []string{"subscriber.import", "subscriber.delete"} {
		entries, err := h.store.SearchAudit(ctx, data.AuditFilter{Action: action})
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit %s: %v, %d entries", action, err, len(entries))
		}
		e := entries[0]
		actions[e.Action] = true
		if strings.Contains(e.Detail+e.Subject+e.Before+e.After, "@example.") {
			t.Errorf("audit entry %s shows an address: %+v", e.Action, e)
		}
		if !strings.Contains(e.Actor, "ann@example.com (token ") {
			t.Errorf("audit actor %q", e.Actor)
		}
	}
	if !actions["subscriber.import"] || !actions["subscriber.delete"] {
		t.Errorf("audited: %v; want subscriber.import and subscriber.delete", actions)
	}
}

func TestAdminSubscribersImportAllOrNothing(t *testing.T) {
	h := newAdminHarness(t)
	w := h.token("ann@example.com", data.ScopeSubscribersWrite)
	r := h.token("ann@example.com", data.ScopeSubscribersRead)
	for name, c := range map[string]struct{ body, want string }{
		"bad address":       {"email\nok@example.com\nnot an address\n", "line 3: email"},
		"no domain dot":     {"email\nok@example.com\nx@localhost\n", "line 3: email"},
		"unknown component": {"email,components\nok@example.com,payments\nz@example.com,nope\n", `line 3: components "nope"`},
		"unknown column":    {"email,phone\nok@example.com,1\n", "line 1: unknown column"},
		"no email column":   {"address\nok@example.com\n", "line 1"},
		"header only":       {"email\n", "no subscribers"},
		"bad quote":         {"email\nok@example.com\n\"x@example.com\n", "line 3"},
	} {
		code, body := h.apiCSV(w, "POST", "/api/admin/subscribers/import", c.body)
		var e apiError
		_ = json.Unmarshal([]byte(body), &e)
		if code != 400 || !strings.Contains(e.Message, c.want) || e.Field != "body" {
			t.Errorf("%s: %d %s; want 400 with %q", name, code, body, c.want)
		}
	}
	var page apiSubscriberPage
	h.api(r, "GET", "/api/admin/subscribers", nil, &page)
	if len(page.Subscribers) != 0 {
		t.Errorf("a refused import stored %d subscribers", len(page.Subscribers))
	}
	if res := h.api(w, "POST", "/api/admin/subscribers/import", map[string]string{"email": "a@example.com"}, nil); res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("JSON body: %d; want 415", res.StatusCode)
	}
}

func TestAdminSubscribersDeliveries(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	w := h.token("ann@example.com", data.ScopeSubscribersWrite)
	r := h.token("ann@example.com", data.ScopeSubscribersRead)
	h.mustImport(w, "email\na@example.com\nb@example.com\n")

	// A real fan-out: an incident's event, planned for everyone, expanded.
	// (A consumer starts after the newest event: register it first.)
	if _, err := h.store.Consume(ctx, "notifier", 1, func(*data.Tx, []data.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.CreateIncident(ctx, data.NewIncident{Name: "Slow", Body: "Looking.", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	var eventID int64
	if _, err := h.store.Consume(ctx, "notifier", 100, func(tx *data.Tx, evs []data.Event) error {
		for _, ev := range evs {
			eventID = ev.ID
			if err := tx.PlanFanout(data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceEveryone, Email: true}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil || eventID == 0 {
		t.Fatalf("consume: %v (event %d)", err, eventID)
	}
	for more := true; more; {
		var err error
		if _, more, err = h.store.ExpandFanouts(ctx, 100); err != nil {
			t.Fatal(err)
		}
	}

	var page apiDeliveryPage
	if res := h.api(r, "GET", "/api/admin/deliveries?event_id="+itoa(eventID), nil, &page); res.StatusCode != 200 || len(page.Deliveries) != 2 {
		t.Fatalf("deliveries: %d %+v", res.StatusCode, page)
	}
	d := page.Deliveries[0]
	if d.State != "pending" || d.Attempts != 0 || d.EventID != eventID || d.Channel != "email" || d.NextAttemptAt == nil {
		t.Errorf("delivery: %+v", d)
	}
	h.api(r, "GET", "/api/admin/deliveries?subscriber_id="+itoa(d.SubscriberID), nil, &page)
	if len(page.Deliveries) != 1 || page.Deliveries[0].ID != d.ID {
		t.Errorf("by subscriber: %+v", page.Deliveries)
	}
	h.api(r, "GET", "/api/admin/deliveries?state=dead", nil, &page)
	if len(page.Deliveries) != 0 {
		t.Errorf("dead: %+v", page.Deliveries)
	}
	if res := h.api(r, "GET", "/api/admin/deliveries?state=lost", nil, nil); res.StatusCode != 400 {
		t.Errorf("state=lost: %d; want 400", res.StatusCode)
	}
	var counts apiDeliveryCounts
	if res := h.api(r, "GET", "/api/admin/events/"+itoa(eventID)+"/deliveries/counts", nil, &counts); res.StatusCode != 200 ||
		counts.Total != 2 || counts.Counts["pending"] != 2 || counts.Counts["dead"] != 0 || len(counts.Counts) != 5 {
		t.Errorf("counts: %d %+v", res.StatusCode, counts)
	}
	if res := h.api(r, "GET", "/api/admin/events/x/deliveries/counts", nil, nil); res.StatusCode != 404 {
		t.Errorf("counts of event x: %d; want 404", res.StatusCode)
	}
}

// FuzzParseSubscriberCSV: an import file never panics, and what it accepts
// is valid and comes with a line number for each row.
func FuzzParseSubscriberCSV(f *testing.F) {
	for _, s := range []string{"email\na@example.com\n", "email,components,journeys\nb@example.org,payments api,checkout\n",
		"\ufeffEMAIL\n\n\"c@example.net\"\n", "email\n\"x\n", "phone\n1\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		list, lines, err := parseSubscriberCSV(strings.NewReader(body))
		if err != nil {
			return
		}
		if len(list) != len(lines) || len(list) == 0 {
			t.Fatalf("%d subscribers, %d lines", len(list), len(lines))
		}
		for i, n := range list {
			if err := n.Validate(); err != nil || lines[i] < 2 {
				t.Fatalf("accepted row %d (line %d) is invalid: %v", i, lines[i], err)
			}
		}
	})
}

func TestCSVCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=1+2", "'=1+2"},
		{"=HYPERLINK(\"http://x.example\")@example.com", "'=HYPERLINK(\"http://x.example\")@example.com"},
		{"+31@example.com", "'+31@example.com"},
		{"-x@example.com", "'-x@example.com"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"", ""},
		{"alice@example.com", "alice@example.com"},
		{"a=b", "a=b"},
		{"component:payments journey:checkout", "component:payments journey:checkout"},
		{"'=already", "'=already"},
		{"2026-11-24T09:00:00Z", "2026-11-24T09:00:00Z"},
	} {
		if got := csvCell(c.in); got != c.want {
			t.Errorf("csvCell(%q) = %q; want %q", c.in, got, c.want)
		}
	}
	// Import reads an escaped cell back; other cells are left alone.
	for _, c := range []struct{ in, want string }{
		{"'=1+2@example.com", "=1+2@example.com"},
		{"'+31@example.com", "+31@example.com"},
		{"'quote@example.com", "'quote@example.com"},
		{"'", "'"},
		{"plain@example.com", "plain@example.com"},
	} {
		if got := uncsvCell(c.in); got != c.want {
			t.Errorf("uncsvCell(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

// TestAdminSubscribersExportFormulas: addresses a spreadsheet would read as
// formulas are exported with a leading quote, and such a file imports as the
// same addresses.
func TestAdminSubscribersExportFormulas(t *testing.T) {
	h := newAdminHarness(t)
	w := h.token("ann@example.com", data.ScopeSubscribersWrite)
	r := h.token("ann@example.com", data.ScopeSubscribersRead)
	risky := []string{"=1+2@example.com", "+31@example.com", "-x@example.com", "plain@example.com"}
	if got := h.mustImport(w, "email\n"+strings.Join(risky, "\n")+"\n"); got.Added != 4 {
		t.Fatalf("import: %+v; want 4 added (addresses may start with =, + and -)", got)
	}
	code, body := h.apiCSV(r, "GET", "/api/admin/subscribers/export.csv", "")
	if code != 200 {
		t.Fatalf("export: %d %s", code, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("export: %v\n%s", err, body)
	}
	want := []string{"'=1+2@example.com", "'+31@example.com", "'-x@example.com", "plain@example.com"}
	var exported []string
	for i, row := range rows[1:] {
		if row[2] != want[i] {
			t.Errorf("exported address %q; want %q", row[2], want[i])
		}
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %q has a cell a spreadsheet reads as a formula: %q", row, cell)
			}
		}
		exported = append(exported, row[2])
	}
	// The exported addresses, imported again, are the same subscribers.
	if got := h.mustImport(w, "email\n"+strings.Join(exported, "\n")+"\n"); got.Added != 0 || got.Skipped != 4 {
		t.Errorf("importing the export: %+v; want all 4 skipped as already subscribed", got)
	}
}
