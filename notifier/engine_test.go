package notifier_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/notifiertest"
)

var ctx = context.Background()

const wait = 30 * time.Second // hang guard only

func catalog() data.Catalog {
	return data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "sign-in", Name: "Sign in", Components: []data.CatalogComponent{
			{ID: "auth-api", Name: "Authentication API", Showcase: true},
			{ID: "idp", Name: "Identity providers", Children: []data.CatalogComponent{
				{ID: "sso-google", Name: "Google", Showcase: true},
			}},
		}},
		{ID: "checkout", Name: "Checkout", Components: []data.CatalogComponent{
			{ID: "payments", Name: "Payments", Showcase: true},
		}},
	}}
}

type harness struct {
	clock atomic.Pointer[time.Time] // the store's clock when set; the real one otherwise
	store *data.Store
	smtp  *notifiertest.SMTPServer
	eng   *notifier.Engine
	reg   *prometheus.Registry
}

var testPage = notifier.Page{ID: "fernhill", Name: "Fernhill", URL: "https://status.fernhill.example", Location: time.UTC}

func quickRetries(o *notifier.Options) {
	o.EmailRetry = notifier.RetryPolicy{Base: 20 * time.Millisecond, Cap: 50 * time.Millisecond, MaxAttempts: 3}
	o.WebhookRetry = notifier.RetryPolicy{Schedule: []time.Duration{0, 20 * time.Millisecond, 50 * time.Millisecond}}
}

func newHarness(t *testing.T, tweak func(*harness, *notifier.Options)) *harness {
	t.Helper()
	h := &harness{store: datatest.MustOpen(t), smtp: notifiertest.StartSMTP(t, notifiertest.SMTPOptions{}), reg: prometheus.NewRegistry()}
	if _, err := h.store.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	// The store reads its clock from the engine's goroutines: tests move
	// it with setNow, never by replacing store.Now while they run.
	h.store.Now = func() time.Time {
		if c := h.clock.Load(); c != nil {
			return *c
		}
		return time.Now()
	}
	mailer, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: h.smtp.Host, Port: h.smtp.Port, TLS: notifier.TLSNone,
		Timeout: 2 * time.Second, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	allow, _ := notifier.ParseAllowlist([]string{"127.0.0.0/8"})
	o := notifier.Options{Page: testPage, From: "Fernhill Status <status@fernhill.example>", Mailer: mailer,
		Allow: allow, WebhookTimeout: 2 * time.Second, Poll: 20 * time.Millisecond, Registerer: h.reg,
		EmailWorkers: 4, WebhookWorkers: 8, WebhookPerHost: 4,
		Breaker: notifier.BreakerSettings{Failures: 5, OpenFor: 200 * time.Millisecond}}
	quickRetries(&o)
	if tweak != nil {
		tweak(h, &o)
	}
	h.eng, err = notifier.New(h.store, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := h.eng.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return h
}

// setNow sets the store's clock.
func (h *harness) setNow(t time.Time) { h.clock.Store(&t) }

func (h *harness) addEmail(t *testing.T, addr string, comps ...string) data.Subscriber {
	t.Helper()
	s, err := h.store.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: addr, Components: comps}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (h *harness) addHook(t *testing.T, url string, format data.WebhookFormat, comps ...string) data.Subscriber {
	t.Helper()
	s, err := h.store.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelWebhook, Email: "owner@example.com", URL: url,
		Format: format, Components: comps}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// settle waits until no delivery is queued.
func (h *harness) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		stats, err := h.store.DeliveryStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, pending, err := h.store.Cursor(ctx, "notifier")
		if err != nil {
			t.Fatal(err)
		}
		open, err := h.store.OpenFanouts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		busy := pending > 0 || open > 0
		for _, s := range stats {
			busy = busy || s.Queued > 0
		}
		if !busy {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("deliveries still queued after the hang guard")
}

func (h *harness) incident(t *testing.T, name string, comps map[string]data.ComponentStatus) data.Incident {
	t.Helper()
	in, err := h.store.CreateIncident(ctx, data.NewIncident{Name: name, Body: "We are investigating.\n\nMore soon.", Impact: data.ImpactMajor,
		Components: comps, Actor: "ann@fernhill.example"})
	if err != nil {
		t.Fatal(err)
	}
	h.eng.Wake()
	return in
}

func TestEmailNotice(t *testing.T) {
	h := newHarness(t, nil)
	ann := h.addEmail(t, "ann@example.com", "payments")
	h.addEmail(t, "bob@example.com", "sso-google")
	in := h.incident(t, "Card payments failing", map[string]data.ComponentStatus{"payments": data.MajorOutage})
	msgs := h.smtp.WaitFor(t, 1, wait)
	h.settle(t)
	if n := h.smtp.Count(); n != 1 {
		t.Fatalf("%d messages; want 1 (bob is subscribed to another component)", n)
	}
	m := msgs[0]
	if len(m.To) != 1 || m.To[0] != "ann@example.com" || m.From != "status@fernhill.example" {
		t.Errorf("envelope from %q to %v", m.From, m.To)
	}
	if got := m.Header.Get("Subject"); got != "[Fernhill] Investigating: Card payments failing" {
		t.Errorf("Subject = %q", got)
	}
	evs, _ := h.store.Events(ctx, 0, 1000)
	var evID int64
	for _, ev := range evs {
		if ev.Kind == data.EventIncidentCreated {
			evID = ev.ID
		}
	}
	wantID := fmt.Sprintf("<statusd.e%d.s%d.fernhill@fernhill.example>", evID, ann.ID)
	if got := m.Header.Get("Message-ID"); got != wantID {
		t.Errorf("Message-ID = %q; want %q", got, wantID)
	}
	thread := "<incident." + in.ID + ".fernhill@fernhill.example>"
	if m.Header.Get("In-Reply-To") != thread || m.Header.Get("References") != thread {
		t.Errorf("threading: In-Reply-To %q References %q; want %q", m.Header.Get("In-Reply-To"), m.Header.Get("References"), thread)
	}
	unsub := "https://status.fernhill.example/unsubscribe?token=" + ann.ManageToken
	if got := m.Header.Get("List-Unsubscribe"); got != "<"+unsub+">" {
		t.Errorf("List-Unsubscribe = %q", got)
	}
	if got := m.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", got)
	}
	for _, part := range []struct{ name, body string }{{"text", m.Text}, {"html", m.HTML}} {
		for _, want := range []string{"Card payments failing", "We are investigating.", "Payments", "Major outage",
			"/subscribe/manage?token=" + ann.ManageToken, "/incidents/" + in.ID} {
			if !strings.Contains(part.body, want) {
				t.Errorf("%s part lacks %q:\n%s", part.name, want, part.body)
			}
		}
	}
	if !strings.Contains(m.HTML, `lang="en"`) {
		t.Error("html part has no language")
	}
	// An update threads under the same incident; a silent one sends nothing.
	if _, err := h.store.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Identified, Body: "Found it.", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Identified, Body: "Typo fix.", Actor: "ann", Silent: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Resolved, Body: "Fixed.", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	h.eng.Wake()
	msgs = h.smtp.WaitFor(t, 3, wait)
	h.settle(t)
	if n := h.smtp.Count(); n != 3 {
		t.Fatalf("%d messages after two updates and a silent one; want 3", n)
	}
	// Updates may be sent in parallel; their Date is when each was posted,
	// so mail clients show them in order.
	subjects := map[string]time.Time{}
	for _, m := range msgs {
		d, err := m.Header.Date()
		if err != nil {
			t.Errorf("Date: %v", err)
		}
		subjects[m.Header.Get("Subject")] = d
		if m.Header.Get("References") != thread {
			t.Errorf("%q not threaded", m.Header.Get("Subject"))
		}
	}
	inv, idf, res := subjects["[Fernhill] Investigating: Card payments failing"], subjects["[Fernhill] Identified: Card payments failing"],
		subjects["[Fernhill] Resolved: Card payments failing"]
	if len(subjects) != 3 || inv.IsZero() || idf.IsZero() || res.IsZero() || idf.Before(inv) || res.Before(idf) {
		t.Errorf("subjects and dates %v", subjects)
	}
}

func TestComponentChangesPolicy(t *testing.T) {
	recv := notifiertest.StartReceiver(t)
	h := newHarness(t, nil) // defaults: webhooks hear every change, email none
	h.addEmail(t, "ann@example.com", "payments")
	hook := h.addHook(t, recv.URL+"/sp", data.FormatStatuspage, "payments")
	recv.SetSecrets(hook.Secret)
	set := func(st data.ComponentStatus) {
		t.Helper()
		if _, err := h.store.SetInputs(ctx, []data.Input{{ComponentID: "payments", Source: data.SourceAutomatic, Key: "probes",
			Status: st, Reason: "probe checkout-pay failing", Actor: "probes"}}); err != nil {
			t.Fatal(err)
		}
		h.eng.Wake()
	}
	set(data.MajorOutage)
	set(data.MajorOutage) // re-asserting: nothing
	reqs := recv.WaitFor(t, 1, wait)
	h.settle(t)
	if len(recv.Requests()) != 1 || h.smtp.Count() != 0 {
		t.Fatalf("%d webhooks and %d emails after a status set twice; want 1 and 0", len(recv.Requests()), h.smtp.Count())
	}
	r := reqs[0]
	if !r.Verified {
		t.Error("signature did not verify")
	}
	var body struct {
		Meta struct {
			Unsubscribe string `json:"unsubscribe"`
		} `json:"meta"`
		Page struct {
			ID              string `json:"id"`
			StatusIndicator string `json:"status_indicator"`
		} `json:"page"`
		Component struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Name   string `json:"name"`
		} `json:"component"`
		ComponentUpdate struct {
			OldStatus     string `json:"old_status"`
			NewStatus     string `json:"new_status"`
			ComponentID   string `json:"component_id"`
			ComponentType string `json:"component_type"`
			CreatedAt     string `json:"created_at"`
		} `json:"component_update"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Component.ID != "payments" || body.Component.Status != "major_outage" || body.ComponentUpdate.OldStatus != "operational" ||
		body.ComponentUpdate.NewStatus != "major_outage" || body.ComponentUpdate.ComponentType != "Component" || body.Page.ID != "fernhill" ||
		!strings.Contains(body.Meta.Unsubscribe, hook.ManageToken) || body.Page.StatusIndicator != "major" {
		t.Errorf("component webhook body: %s", r.Body)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z07:00", body.ComponentUpdate.CreatedAt); err != nil {
		t.Errorf("created_at %q: %v", body.ComponentUpdate.CreatedAt, err)
	}
}

func TestWebhookFormats(t *testing.T) {
	recv := notifiertest.StartReceiver(t)
	h := newHarness(t, nil)
	sp := h.addHook(t, recv.URL+"/statuspage", data.FormatStatuspage)
	h.addHook(t, recv.URL+"/slack", data.FormatSlack)
	h.addHook(t, recv.URL+"/teams", data.FormatTeams)
	recv.SetSecrets(sp.Secret)
	in := h.incident(t, "Sign-in <slow>", nil) // no components: everyone
	recv.WaitFor(t, 3, wait)
	h.settle(t)
	byPath := map[string]notifiertest.Request{}
	for _, r := range recv.Requests() {
		var probe map[string]any
		if err := json.Unmarshal(r.Body, &probe); err != nil {
			t.Fatalf("body is not JSON: %s", r.Body)
		}
		switch {
		case probe["incident"] != nil:
			byPath["sp"] = r
		case probe["blocks"] != nil:
			byPath["slack"] = r
		case probe["attachments"] != nil:
			byPath["teams"] = r
		}
	}
	if len(byPath) != 3 {
		t.Fatalf("formats received: %v", byPath)
	}
	if !byPath["sp"].Verified {
		t.Error("statuspage body signature did not verify")
	}
	var sp1 struct {
		Incident struct {
			ID              string `json:"id"`
			Name            string `json:"name"`
			Status          string `json:"status"`
			Impact          string `json:"impact"`
			Shortlink       string `json:"shortlink"`
			IncidentUpdates []struct {
				Body                 string `json:"body"`
				Status               string `json:"status"`
				IncidentID           string `json:"incident_id"`
				DeliverNotifications bool   `json:"deliver_notifications"`
			} `json:"incident_updates"`
		} `json:"incident"`
	}
	if err := json.Unmarshal(byPath["sp"].Body, &sp1); err != nil {
		t.Fatal(err)
	}
	if sp1.Incident.ID != in.ID || sp1.Incident.Status != "investigating" || sp1.Incident.Impact != "major" ||
		len(sp1.Incident.IncidentUpdates) != 1 || sp1.Incident.IncidentUpdates[0].IncidentID != in.ID ||
		!strings.HasPrefix(sp1.Incident.IncidentUpdates[0].Body, "We are investigating.") || !sp1.Incident.IncidentUpdates[0].DeliverNotifications {
		t.Errorf("statuspage incident body: %s", byPath["sp"].Body)
	}
	if !strings.Contains(string(byPath["slack"].Body), `Sign-in \u0026lt;slow\u0026gt;`) {
		t.Errorf("slack body does not escape mrkdwn: %s", byPath["slack"].Body)
	}
	if !strings.Contains(string(byPath["teams"].Body), `"AdaptiveCard"`) {
		t.Errorf("teams body: %s", byPath["teams"].Body)
	}
	// Every format carries the delivery key as webhook-id.
	for k, r := range byPath {
		if !strings.HasPrefix(r.Header.Get("webhook-id"), "msg_e") {
			t.Errorf("%s webhook-id %q", k, r.Header.Get("webhook-id"))
		}
	}
}

func TestEMLSink(t *testing.T) {
	dir := t.TempDir()
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	eng, err := notifier.New(s, notifier.Options{Page: testPage, From: "status@fernhill.example", EMLDir: filepath.Join(dir, "mail"), Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	if _, err := s.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "ann@example.com"}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Down", Body: "x", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	eng.Wake()
	deadline := time.Now().Add(wait)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
		if len(files) == 1 {
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "Subject: [Fernhill] Investigating: Down") || !strings.Contains(filepath.Base(files[0]), "statusd.e") {
				t.Errorf("%s:\n%s", files[0], b)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("files: %v", files)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSMTPSecurity sends over STARTTLS and implicit TLS with
// authentication, reusing connections.
func TestSMTPSecurity(t *testing.T) {
	for _, mode := range []string{"starttls", "tls"} {
		t.Run(mode, func(t *testing.T) {
			srv := notifiertest.StartSMTP(t, notifiertest.SMTPOptions{TLS: mode, Username: "statusd", Password: "s3cret"})
			m, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: "127.0.0.1", Port: srv.Port, TLS: notifier.TLSMode(mode),
				Username: "statusd", Password: "s3cret", Concurrency: 2, Timeout: 5 * time.Second,
				TLSConfig: tlsConfig(srv)})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			r := newTestRenderer(t)
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- m.Send(ctx, r(fmt.Sprintf("u%d@example.com", i)))
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			srv.WaitFor(t, 20, wait)
			if c := srv.Connections(); c > 4 {
				t.Errorf("%d connections for 20 messages at concurrency 2; want reuse", c)
			}
			if srv.Authenticated() == 0 {
				t.Error("never authenticated")
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		srv := notifiertest.StartSMTP(t, notifiertest.SMTPOptions{TLS: "starttls", Username: "statusd", Password: "s3cret"})
		m, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: "127.0.0.1", Port: srv.Port, Username: "statusd", Password: "nope",
			Timeout: 5 * time.Second, TLSConfig: tlsConfig(srv)})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		r := newTestRenderer(t)
		err = m.Send(ctx, r("a@example.com"))
		var se *notifier.SendError
		if err == nil || !asSendError(err, &se) {
			t.Fatalf("Send with a wrong password = %v", err)
		}
	})
	t.Run("starttls required", func(t *testing.T) {
		srv := notifiertest.StartSMTP(t, notifiertest.SMTPOptions{}) // offers no STARTTLS
		m, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: "127.0.0.1", Port: srv.Port, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Send(ctx, newTestRenderer(t)("a@example.com")); err == nil {
			t.Fatal("sent in clear text with STARTTLS required")
		}
		if srv.Count() != 0 {
			t.Fatal("server got a message")
		}
	})
}

// TestStaffAlert: an SLO burning its error budget alerts the staff
// addresses, and no customer.
func TestStaffAlert(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.store.SyncStaff(ctx, []string{"oncall@fernhill.example"}); err != nil {
		t.Fatal(err)
	}
	h.addEmail(t, "customer@example.com")
	now := time.Now()
	fig := data.SLOFigures{SLOID: "signin-avail", JourneyID: "sign-in", Name: "Sign-in availability", Objective: 99.9, Window: "30 days",
		WindowStart: now.Add(-30 * 24 * time.Hour), WindowEnd: now, Good: 900, Total: 1000, SLI: 0.9, HasData: true,
		BudgetTime: 43 * time.Minute, BudgetRemaining: 0.25, Alert: data.SLOFastBurn, AlertReason: "burning",
		Burn: []data.BurnRate{{Window: time.Hour, Rate: 20, Events: 1000}}, UpdatedAt: now}
	burn := data.SLOBurn{SLOID: "signin-avail", SLOName: "Sign-in availability", JourneyID: "sign-in", Objective: 99.9,
		Severity: data.SLOFastBurn, Status: data.PartialOutage, Long: time.Hour, Short: 5 * time.Minute, LongRate: 20, ShortRate: 30,
		Factor: 14.4, BudgetRemaining: 0.25, Reason: "burning error budget 20× over 1h and 30× over 5m"}
	if _, err := h.store.SetSLOAlert(ctx, burn, fig); err != nil {
		t.Fatal(err)
	}
	h.eng.Wake()
	msgs := h.smtp.WaitFor(t, 1, wait)
	h.settle(t)
	if n := h.smtp.Count(); n != 1 {
		t.Fatalf("%d messages; want 1 (staff only)", n)
	}
	m := msgs[0]
	if m.To[0] != "oncall@fernhill.example" || m.Header.Get("Subject") != "[Fernhill] SLO burning (fast): Sign-in availability (Sign in)" ||
		!strings.Contains(m.Text, "20.0× over 1 hour") || strings.Contains(m.Text, "Unsubscribe") || m.Header.Get("List-Unsubscribe") != "" {
		t.Errorf("staff alert to %v %q:\n%s", m.To, m.Header.Get("Subject"), m.Text)
	}
}

// TestStaffAlertOverdueAndDraft: an overdue "next update by" and a draft
// proposed by detection each reach the staff addresses once, and neither
// an email subscriber nor a webhook of everything.
func TestStaffAlertOverdueAndDraft(t *testing.T) {
	recv := notifiertest.StartReceiver(t)
	h := newHarness(t, nil)
	if err := h.store.SyncStaff(ctx, []string{"oncall@fernhill.example"}); err != nil {
		t.Fatal(err)
	}
	h.addEmail(t, "customer@example.com")
	h.addHook(t, recv.URL+"/all", data.FormatStatuspage)
	t0 := time.Now().Truncate(time.Minute)
	h.setNow(t0)
	d, err := h.store.CreateDraft(ctx, data.DraftInput{Name: "Card payments failing", Body: "Looking into it.", Notify: true,
		Components: map[string]data.ComponentStatus{"payments": data.MajorOutage}, NextUpdateBy: t0.Add(30 * time.Minute), Actor: "ann@fernhill.example"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.store.PublishDraft(ctx, d.ID, "ann@fernhill.example", data.RenderedBody{Text: "Looking into it.", HTML: "<p>Looking into it.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	h.eng.Wake()
	h.smtp.WaitFor(t, 1, wait)
	recv.WaitFor(t, 2, wait) // incident.created and the component's change
	h.settle(t)
	hooks := len(recv.Requests())

	h.setNow(t0.Add(42 * time.Minute))
	if _, err := h.store.CreateDraft(ctx, data.DraftInput{Name: "Outage: Sign in", Body: "Detected.", ProposedBy: "statusd", JourneyID: "sign-in",
		Components: map[string]data.ComponentStatus{"auth-api": data.PartialOutage}, NextUpdateBy: t0.Add(time.Hour), Actor: "statusd"}); err != nil {
		t.Fatal(err)
	}
	if n, err := h.store.SendStaffAlerts(ctx); err != nil || n != 2 {
		t.Fatalf("SendStaffAlerts = %d, %v; want 2", n, err)
	}
	h.eng.Wake()
	msgs := h.smtp.WaitFor(t, 3, wait)
	h.settle(t)
	if n := h.smtp.Count(); n != 3 {
		t.Fatalf("%d messages; want 3 (the incident, then two staff alerts)", n)
	}
	if n := len(recv.Requests()); n != hooks {
		t.Errorf("the webhook received %d more requests; staff alerts are not for subscribers", n-hooks)
	}
	bySubject := map[string]notifiertest.Message{}
	for _, m := range msgs[1:] {
		if m.To[0] != "oncall@fernhill.example" {
			t.Errorf("a staff alert went to %v", m.To)
		}
		if m.Header.Get("List-Unsubscribe") != "" || strings.Contains(m.Text, "Unsubscribe") {
			t.Errorf("a staff alert offers to unsubscribe:\n%s", m.Text)
		}
		bySubject[m.Header.Get("Subject")] = m
	}
	over, ok := bySubject["[Fernhill] Update overdue: Card payments failing"]
	if !ok {
		t.Fatalf("no overdue alert among %v", bySubject)
	}
	for _, want := range []string{"promised the next update", "12 minutes ago", "Payments (major outage)",
		"https://status.fernhill.example/admin/incidents/" + p.Incident.ID, "Post an update"} {
		if !strings.Contains(over.Text, want) {
			t.Errorf("overdue alert lacks %q:\n%s", want, over.Text)
		}
	}
	draft, ok := bySubject["[Fernhill] Draft incident waiting: Outage: Sign in"]
	if !ok {
		t.Fatalf("no draft alert among %v", bySubject)
	}
	for _, want := range []string{"Automatic detection proposed an incident for Sign in", "Authentication API (operational now; the draft declares partial outage)",
		"/admin/drafts/", "Review the draft"} {
		if !strings.Contains(draft.Text, want) {
			t.Errorf("draft alert lacks %q:\n%s", want, draft.Text)
		}
	}
	// Nothing twice.
	if n, err := h.store.SendStaffAlerts(ctx); err != nil || n != 0 {
		t.Errorf("second SendStaffAlerts = %d, %v; want 0", n, err)
	}
}

// TestStaffAlertMaintenanceLate: a window that starts by hand and was not
// started tells the staff, and only them.
func TestStaffAlertMaintenanceLate(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.store.SyncStaff(ctx, []string{"oncall@fernhill.example"}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Truncate(time.Minute)
	h.setNow(t0)
	if _, err := h.store.CreateMaintenance(ctx, data.NewMaintenance{Name: "Database upgrade", Body: "Planned.", ScheduledFor: t0.Add(10 * time.Minute),
		ScheduledUntil: t0.Add(time.Hour), ComponentIDs: []string{"payments"}, Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	h.eng.Wake()
	h.settle(t)
	h.setNow(t0.Add(25 * time.Minute))
	if n, err := h.store.SendStaffAlerts(ctx); err != nil || n != 1 {
		t.Fatalf("SendStaffAlerts = %d, %v; want 1", n, err)
	}
	h.eng.Wake()
	msgs := h.smtp.WaitFor(t, 1, wait)
	h.settle(t)
	if n := h.smtp.Count(); n != 1 {
		t.Fatalf("%d messages; want the staff alert only", n)
	}
	m := msgs[0]
	if m.To[0] != "oncall@fernhill.example" || m.Header.Get("Subject") != "[Fernhill] Maintenance not started: Database upgrade" ||
		!strings.Contains(m.Text, "15 minutes ago") || !strings.Contains(m.Text, "Start it now, or reschedule it") ||
		!strings.Contains(m.Text, "Payments (") {
		t.Errorf("alert to %v %q:\n%s", m.To, m.Header.Get("Subject"), m.Text)
	}
}

// TestMaintenanceReminder: a subscriber of a component hears the reminder
// of a maintenance on it, threaded with the maintenance's other notices.
func TestMaintenanceReminder(t *testing.T) {
	h := newHarness(t, nil)
	h.addEmail(t, "pay@example.com", "payments")
	h.addEmail(t, "google@example.com", "sso-google")
	t0 := time.Now().Truncate(time.Minute)
	start := t0.Add(3 * time.Hour)
	mt, err := h.store.CreateMaintenance(ctx, data.NewMaintenance{Name: "Database upgrade", Body: "Planned.", ScheduledFor: start,
		ScheduledUntil: start.Add(time.Hour), ComponentIDs: []string{"payments"}, Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	h.eng.Wake()
	h.smtp.WaitFor(t, 1, wait)
	h.settle(t) // before the clock jumps, or the sent notice's lease would look expired
	// An hour and a half later, the two-hour reminder is due.
	h.setNow(t0.Add(90 * time.Minute))
	if n, err := h.store.SendMaintenanceReminders(ctx, []time.Duration{2 * time.Hour}); err != nil || n != 1 {
		t.Fatalf("SendMaintenanceReminders = %d, %v", n, err)
	}
	h.eng.Wake()
	msgs := h.smtp.WaitFor(t, 2, wait)
	h.settle(t)
	if h.smtp.Count() != 2 {
		for _, m := range h.smtp.Messages() {
			t.Logf("%v %q", m.To, m.Header.Get("Subject"))
		}
		t.Fatalf("%d messages; want 2 (the notice and the reminder, to the payments subscriber only)", h.smtp.Count())
	}
	r := msgs[1]
	if r.To[0] != "pay@example.com" || r.Header.Get("Subject") != "[Fernhill] Reminder: maintenance starts in 1 hour 30 minutes: Database upgrade" {
		t.Errorf("reminder to %v: %q", r.To, r.Header.Get("Subject"))
	}
	if r.Header.Get("References") != msgs[0].Header.Get("References") || !strings.Contains(r.Header.Get("References"), mt.ID) {
		t.Errorf("reminder not threaded with the maintenance: %q vs %q", r.Header.Get("References"), msgs[0].Header.Get("References"))
	}
}
