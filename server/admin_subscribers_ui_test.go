package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

// upload posts a multipart form with one file, as a browser does, with the
// form token of the page it came from unless csrf is false.
func (b *browser) upload(from, path, field, filename, content string, csrf bool) response {
	b.h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf {
		if err := mw.WriteField("csrf", b.csrf(from)); err != nil {
			b.h.t.Fatal(err)
		}
	}
	if field != "" {
		fw, err := mw.CreateFormFile(field, filename)
		if err != nil {
			b.h.t.Fatal(err)
		}
		if _, err := io.WriteString(fw, content); err != nil {
			b.h.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		b.h.t.Fatal(err)
	}
	req := httptest.NewRequest("POST", path, &body)
	req.Host = "status.example.com"
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Forwarded-For", b.ip)
	for _, c := range b.cookies {
		if strings.HasPrefix(path, c.Path) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	res, err := b.h.srv.App().Test(req, -1)
	if err != nil {
		b.h.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return response{res, string(raw)}
}

// subscriberIDs lists the stored subscribers' ids by address (webhooks by
// URL).
func (h *adminHarness) subscriberIDs() map[string]int64 {
	h.t.Helper()
	subs, err := h.store.Subscribers(context.Background(), data.SubscriberFilter{Limit: 10000})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, s := range subs {
		addr := s.Email
		if s.Channel == data.ChannelWebhook {
			addr = s.URL
		}
		out[addr] = s.ID
	}
	return out
}

// deliverIncident opens an incident and fans its event out to every
// subscriber, as the notifier does; it returns the incident's id and the
// event's.
func (h *adminHarness) deliverIncident(name string) (string, int64) {
	h.t.Helper()
	ctx := context.Background()
	// A consumer starts after the newest event: register it first.
	if _, err := h.store.Consume(ctx, "notifier", 1, func(*data.Tx, []data.Event) error { return nil }); err != nil {
		h.t.Fatal(err)
	}
	in, err := h.store.CreateIncident(ctx, data.NewIncident{Name: name, Body: "Looking.", Actor: "ann"})
	if err != nil {
		h.t.Fatal(err)
	}
	var eventID int64
	if _, err := h.store.Consume(ctx, "notifier", 100, func(tx *data.Tx, evs []data.Event) error {
		for _, ev := range evs {
			eventID = ev.ID
			if err := tx.PlanFanout(data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceEveryone, Email: true, Webhook: true}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil || eventID == 0 {
		h.t.Fatalf("consume: %v (event %d)", err, eventID)
	}
	for more := true; more; {
		if _, more, err = h.store.ExpandFanouts(ctx, 100); err != nil {
			h.t.Fatal(err)
		}
	}
	return in.ID, eventID
}

// settleDeliveries claims every due email delivery and finishes each as
// outcome says, by subscriber id.
func (h *adminHarness) settleDeliveries(outcome map[int64]data.DeliveryResult) {
	h.t.Helper()
	ctx := context.Background()
	ds, err := h.store.ClaimDeliveries(ctx, data.ChannelEmail, 100, time.Minute)
	if err != nil {
		h.t.Fatal(err)
	}
	var results []data.DeliveryResult
	for _, d := range ds {
		r, ok := outcome[d.SubscriberID]
		if !ok {
			r = data.DeliveryResult{Outcome: data.OutcomeRelease}
		}
		r.ID, r.Lease = d.ID, d.LeaseUntil
		results = append(results, r)
	}
	if err := h.store.FinishDeliveries(ctx, results); err != nil {
		h.t.Fatal(err)
	}
}

func TestAdminSubscribersListSearchPaging(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	w := h.token("ann@example.com", data.ScopeSubscribersWrite)
	h.mustImport(w, "email,components,journeys\nalice@example.com,,\nbob@example.org,payments,checkout\n")
	if _, err := h.store.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelWebhook, Email: "ops@example.com",
		URL: "https://hooks.example.com/services/T0/B0/s3cr3tpath?token=s3cr3tquery", Format: data.FormatSlack}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "dave@example.com"}, time.Hour); err != nil {
		t.Fatal(err)
	}

	b := h.browser().mustLogin("cara@example.com")
	if d := b.do("GET", "/admin/", nil); !strings.Contains(d.body, `href="/admin/subscribers"`) {
		t.Error("the navigation does not link to the subscribers page")
	}
	page := b.do("GET", "/admin/subscribers", nil)
	if page.StatusCode != 200 {
		t.Fatalf("subscribers page: %d\n%s", page.StatusCode, problems(page.body))
	}
	for _, want := range []string{"alice@example.com", "bob@example.org", "dave@example.com", "https://hooks.example.com/…", "ops@example.com",
		"Everything", "Payments 💳 and Checkout 🛒 (journey)", "Pending", `aria-current="page"`, `href="/admin/subscribers/export.csv"`,
		`action="/admin/subscribers/import"`, "without an opt-in email"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the subscribers page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "s3cr3t") {
		t.Error("the subscribers page shows a webhook URL's path or query")
	}
	if strings.Contains(page.body, "Next page") {
		t.Error("one page of subscribers offers a next page")
	}

	for _, c := range []struct {
		query string
		want  []string
	}{
		{"q=example.org", []string{"bob@example.org"}},
		{"q=OPS%40", []string{"https://hooks.example.com/…"}},
		{"kind=webhook", []string{"https://hooks.example.com/…"}},
		{"kind=email&confirmed=false", []string{"dave@example.com"}},
		{"confirmed=true&q=alice", []string{"alice@example.com"}},
		{"q=nobody", nil},
	} {
		r := b.do("GET", "/admin/subscribers?"+c.query, nil)
		rows := regexp.MustCompile(`<th scope="row"><a href="/admin/subscribers/\d+"><code>([^<]*)</code>`).FindAllStringSubmatch(r.body, -1)
		var got []string
		for _, m := range rows {
			got = append(got, m[1])
		}
		if r.StatusCode != 200 || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("search %s: %d %q; want %q", c.query, r.StatusCode, got, c.want)
		}
		if c.want == nil && !strings.Contains(r.body, "No subscribers match.") {
			t.Errorf("search %s: no rows, but no word saying so", c.query)
		}
	}
	// The form keeps what was searched for.
	if r := b.do("GET", "/admin/subscribers?q=example.org&kind=email&confirmed=true", nil); !strings.Contains(r.body, `value="example.org"`) ||
		!strings.Contains(r.body, `<option value="email" selected>`) || !strings.Contains(r.body, `<option value="true" selected>`) {
		t.Error("the search form does not keep the search")
	}
	for _, q := range []string{"kind=pigeon", "confirmed=maybe", "after=-1"} {
		if r := b.do("GET", "/admin/subscribers?"+q, nil); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `class="problems"`) {
			t.Errorf("search %s: %d; want 422 with the problem shown", q, r.StatusCode)
		}
	}

	// Paging: 50 a page, in id order, keeping the search.
	var csv strings.Builder
	csv.WriteString("email\n")
	for i := range 60 {
		fmt.Fprintf(&csv, "p%02d@paging.example.com\n", i)
	}
	h.mustImport(w, csv.String())
	first := b.do("GET", "/admin/subscribers?q=paging", nil)
	next := regexp.MustCompile(`<a href="([^"]*)">Next page</a>`).FindStringSubmatch(first.body)
	if next == nil || strings.Count(first.body, "@paging.example.com") != 50 || !strings.Contains(first.body, "p49@") || strings.Contains(first.body, "p50@") {
		t.Fatalf("first page: %d rows, next %v", strings.Count(first.body, "@paging.example.com"), next)
	}
	if strings.Contains(first.body, "First page") {
		t.Error("the first page links to the first page")
	}
	link := strings.ReplaceAll(next[1], "&amp;", "&")
	if !strings.Contains(link, "q=paging") {
		t.Errorf("next page link %q drops the search", link)
	}
	second := b.do("GET", link, nil)
	if strings.Count(second.body, "@paging.example.com") != 10 || !strings.Contains(second.body, "p50@") || !strings.Contains(second.body, "p59@") ||
		strings.Contains(second.body, "Next page") || !strings.Contains(second.body, `href="/admin/subscribers?q=paging">First page`) {
		t.Errorf("second page: %d rows\n%s", strings.Count(second.body, "@paging.example.com"), second.body)
	}

	// Viewers see no addresses: no link, no page, no export.
	v := h.browser().mustLogin("vic@example.com")
	if d := v.do("GET", "/admin/", nil); strings.Contains(d.body, `href="/admin/subscribers"`) {
		t.Error("a viewer's navigation links to the subscribers page")
	}
	for _, p := range []string{"/admin/subscribers", "/admin/subscribers/1", "/admin/subscribers/export.csv"} {
		if r := v.do("GET", p, nil); r.StatusCode != http.StatusForbidden || strings.Contains(r.body, "alice@") {
			t.Errorf("viewer GET %s: %d; want 403", p, r.StatusCode)
		}
	}
	// Signed out, the page asks to sign in.
	if r := h.browser().do("GET", "/admin/subscribers", nil); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login?next=") {
		t.Errorf("signed out: %d %s", r.StatusCode, r.Header.Get("Location"))
	}

	// The export link works with the session, as the API's export does.
	exp := b.do("GET", "/admin/subscribers/export.csv", nil)
	if exp.StatusCode != 200 || !strings.HasPrefix(exp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(exp.body, "alice@example.com") ||
		!strings.HasPrefix(exp.body, "id,kind,address,scope,confirmed_at,created_at\n") {
		t.Errorf("export: %d %s\n%.200s", exp.StatusCode, exp.Header.Get("Content-Type"), exp.body)
	}
}

func TestAdminSubscriberPageAndRemove(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	w := h.token("ann@example.com", data.ScopeSubscribersWrite)
	h.mustImport(w, "email\nsent@example.com\nretry@example.com\ndead@example.com\n")
	ids := h.subscriberIDs()
	incidentID, _ := h.deliverIncident("Checkout slow")
	next := h.clock().Add(10 * time.Minute)
	h.settleDeliveries(map[int64]data.DeliveryResult{
		ids["sent@example.com"]:  {Outcome: data.OutcomeSent},
		ids["retry@example.com"]: {Outcome: data.OutcomeRetry, Next: next, Error: "connect timed out"},
		ids["dead@example.com"]:  {Outcome: data.OutcomeDead, Error: "mailbox unavailable"},
	})

	b := h.browser().mustLogin("cara@example.com")
	for addr, want := range map[string][]string{
		"sent@example.com":  {"Sent", "Incident opened: Checkout slow", `href="/admin/incidents/` + incidentID + `"`},
		"retry@example.com": {"Retrying", "next attempt", `datetime="` + next.Format(time.RFC3339) + `"`, "connect timed out"},
		"dead@example.com":  {"Failed for good", "reason: mailbox unavailable"},
	} {
		p := b.do("GET", fmt.Sprintf("/admin/subscribers/%d", ids[addr]), nil)
		if p.StatusCode != 200 {
			t.Fatalf("page of %s: %d\n%s", addr, p.StatusCode, problems(p.body))
		}
		for _, s := range append(want, addr, "Everything", "Remove subscriber") {
			if !strings.Contains(p.body, s) {
				t.Errorf("page of %s lacks %q", addr, s)
			}
		}
	}
	for _, p := range []string{"/admin/subscribers/999", "/admin/subscribers/x", "/admin/subscribers/0"} {
		if r := b.do("GET", p, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d; want 404", p, r.StatusCode)
		}
	}

	// The incident's page counts its event's deliveries by state.
	inc := b.do("GET", "/admin/incidents/"+incidentID, nil)
	counts := regexp.MustCompile(`(?s)Incident opened<br>.*?</th>\s*<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>.*?(\d+)</span></td><td>(\d+)</td>`).FindStringSubmatch(inc.body)
	if counts == nil || fmt.Sprint(counts[1:]) != "[1 0 1 1 3]" {
		t.Errorf("incident page delivery counts (sent, waiting, retrying, dead, all) = %v; want [1 0 1 1 3]", counts)
	}
	// A viewer sees the incident, not the counts.
	v := h.browser().mustLogin("vic@example.com")
	if inc := v.do("GET", "/admin/incidents/"+incidentID, nil); inc.StatusCode != 200 || strings.Contains(inc.body, "h-deliveries") {
		t.Errorf("viewer's incident page: %d, shows deliveries: %v", inc.StatusCode, strings.Contains(inc.body, "h-deliveries"))
	}

	// Retrying a delivery that failed for good: offered only there, refused
	// to a viewer and without the form token, then queued again once.
	dead := fmt.Sprintf("/admin/subscribers/%d", ids["dead@example.com"])
	sentPage := fmt.Sprintf("/admin/subscribers/%d", ids["sent@example.com"])
	if p := b.do("GET", sentPage, nil); strings.Contains(p.body, "Retry delivery") {
		t.Error("a sent delivery offers a retry")
	}
	m := regexp.MustCompile(`action="(/admin/subscribers/\d+/deliveries/(\d+)/retry)"`).FindStringSubmatch(b.do("GET", dead, nil).body)
	if m == nil {
		t.Fatal("the dead delivery offers no retry")
	}
	retry, deliveryID := m[1], m[2]
	if r := v.post("/admin/", retry, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer retries: %d; want 403", r.StatusCode)
	}
	if r := b.do("POST", retry, url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("retry without the form token: %d; want 403", r.StatusCode)
	}
	if r := b.post(sentPage, fmt.Sprintf("%s/deliveries/%s/retry", sentPage, deliveryID), nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("retry of another subscriber's delivery: %d; want 404", r.StatusCode)
	}
	r := b.post(dead, retry, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != dead+"?done=delivery-retried" {
		t.Fatalf("retry: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), problems(r.body))
	}
	if p := b.do("GET", r.Header.Get("Location"), nil); !strings.Contains(p.body, "will be tried again") || !strings.Contains(p.body, "Retrying") {
		t.Errorf("the page after a retry:\n%s", problems(p.body))
	}
	if r := b.post(dead, retry, nil); r.StatusCode != http.StatusConflict {
		t.Errorf("retry of a delivery no longer dead: %d; want 409", r.StatusCode)
	}
	if entries, err := h.store.SearchAudit(ctx, data.AuditFilter{Action: "delivery.retry"}); err != nil || len(entries) != 1 ||
		entries[0].Actor != "cara@example.com" || entries[0].Subject != deliveryID {
		t.Errorf("audit of the retry = %+v, %v", entries, err)
	}
	// The API: 409 for a delivery that is not dead, 404 for none.
	if res := h.api(w, "POST", "/api/admin/deliveries/"+deliveryID+"/retry", nil, nil); res.StatusCode != http.StatusConflict {
		t.Errorf("API retry of a retrying delivery: %d; want 409", res.StatusCode)
	}
	if res := h.api(w, "POST", "/api/admin/deliveries/99999/retry", nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("API retry of no delivery: %d; want 404", res.StatusCode)
	}

	// Removing: refused to a viewer and without the form token, then done.
	if r := v.post("/admin/", dead+"/remove", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer removes: %d; want 403", r.StatusCode)
	}
	if r := b.do("POST", dead+"/remove", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("remove without the form token: %d; want 403", r.StatusCode)
	}
	if r := b.do("POST", dead+"/remove", url.Values{"csrf": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("remove with a wrong form token: %d; want 403", r.StatusCode)
	}
	if _, ok := h.subscriberIDs()["dead@example.com"]; !ok {
		t.Fatal("a refused removal removed the subscriber")
	}
	r = b.post(dead, dead+"/remove", nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/subscribers?done=subscriber-removed" {
		t.Fatalf("remove: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), problems(r.body))
	}
	if _, ok := h.subscriberIDs()["dead@example.com"]; ok {
		t.Error("the subscriber is still stored")
	}
	if list := b.do("GET", r.Header.Get("Location"), nil); !strings.Contains(list.body, "The subscriber was removed") || strings.Contains(list.body, "dead@example.com") {
		t.Error("the list after removing does not confirm it, or still shows the subscriber")
	}
	entries, err := h.store.SearchAudit(ctx, data.AuditFilter{Action: "subscriber.delete"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "cara@example.com" || entries[0].Subject != fmt.Sprint(ids["dead@example.com"]) ||
		strings.Contains(entries[0].Detail+entries[0].Before+entries[0].After, "@") {
		t.Errorf("audit of the removal = %+v, %v", entries, err)
	}
	if r := b.post("/admin/subscribers", dead+"/remove", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("remove again: %d; want 404", r.StatusCode)
	}
}

func TestAdminSubscribersImportForm(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	b := h.browser().mustLogin("ann@example.com")

	r := b.upload("/admin/subscribers", "/admin/subscribers/import", "file", "list.csv",
		"email,components\nnew@example.com,payments\nother@example.com,\n", true)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: %d\n%s", r.StatusCode, problems(r.body))
	}
	if page := b.do("GET", r.Header.Get("Location"), nil); !strings.Contains(page.body, "Imported 2 new subscribers.") || !strings.Contains(page.body, "new@example.com") {
		t.Errorf("after importing, the page says %q", regexp.MustCompile(`(?s)<div class="notice".*?</div>`).FindString(page.body))
	}
	// Again: both already subscribed.
	r = b.upload("/admin/subscribers", "/admin/subscribers/import", "file", "list.csv", "email\nnew@example.com\nother@example.com\n", true)
	if page := b.do("GET", r.Header.Get("Location"), nil); !strings.Contains(page.body, "Imported 0 new subscribers. 2 addresses were already subscribed") {
		t.Errorf("importing again, the page says %q", regexp.MustCompile(`(?s)<div class="notice".*?</div>`).FindString(page.body))
	}
	entries, err := h.store.SearchAudit(ctx, data.AuditFilter{Action: "subscriber.import"})
	if err != nil || len(entries) != 2 || entries[1].Actor != "ann@example.com" || entries[1].Detail != "2 added" {
		t.Errorf("audit of the imports = %+v, %v", entries, err)
	}

	// A bad file: the form again, the line named, nothing stored.
	before := len(h.subscriberIDs())
	for name, c := range map[string]struct{ file, want string }{
		"bad address":       {"email\nfine@example.com\nnot an address\n", "line 3: email"},
		"unknown component": {"email,components\nfine@example.com,payments\nz@example.com,nope\n", "line 3: components"},
		"no email column":   {"address\nfine@example.com\n", "line 1"},
		"empty":             {"", "is empty"},
	} {
		r := b.upload("/admin/subscribers", "/admin/subscribers/import", "file", "bad.csv", c.file, true)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(problems(r.body), c.want) || !strings.Contains(problems(r.body), "Nothing was stored") ||
			!strings.Contains(r.body, `href="#file"`) || !strings.Contains(r.body, `id="file-error"`) {
			t.Errorf("%s: %d; want 422 naming %q\n%s", name, r.StatusCode, c.want, problems(r.body))
		}
	}
	if r := b.upload("/admin/subscribers", "/admin/subscribers/import", "", "", "", true); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(problems(r.body), "choose a CSV file") {
		t.Errorf("no file: %d\n%s", r.StatusCode, problems(r.body))
	}
	if after := len(h.subscriberIDs()); after != before {
		t.Errorf("refused imports stored %d subscribers", after-before)
	}

	// Without the form token, or as a viewer: refused.
	if r := b.upload("/admin/subscribers", "/admin/subscribers/import", "file", "list.csv", "email\nsneaky@example.com\n", false); r.StatusCode != http.StatusForbidden {
		t.Errorf("import without the form token: %d; want 403", r.StatusCode)
	}
	v := h.browser().mustLogin("vic@example.com")
	if r := v.upload("/admin/", "/admin/subscribers/import", "file", "list.csv", "email\nsneaky@example.com\n", true); r.StatusCode != http.StatusForbidden {
		t.Errorf("viewer imports: %d; want 403", r.StatusCode)
	}
	if _, ok := h.subscriberIDs()["sneaky@example.com"]; ok {
		t.Error("a refused import stored its subscriber")
	}
}
