package notifier_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	dto "github.com/prometheus/client_model/go"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/notifier"
	"github.com/statusd/statusd/notifier/notifiertest"
)

func (h *harness) deliveries(t *testing.T, state data.DeliveryState) []data.Delivery {
	t.Helper()
	ds, err := h.store.Deliveries(ctx, data.DeliveryFilter{State: state, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func (h *harness) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				total += m.Counter.GetValue()
			case m.Gauge != nil:
				total += m.Gauge.GetValue()
			case m.Histogram != nil:
				total += float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return total
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

func TestSMTPFaults(t *testing.T) {
	h := newHarness(t, nil)
	for _, u := range []string{"ok1", "ok2", "unknown", "busy"} {
		h.addEmail(t, u+"@example.com")
	}
	h.smtp.SetFault(func(rcpt string) error {
		switch {
		case strings.HasPrefix(rcpt, "unknown@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(rcpt, "busy@"):
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	})
	h.incident(t, "Down", nil)
	h.settle(t)
	if n := h.smtp.Count(); n != 2 {
		t.Fatalf("%d messages accepted; want 2", n)
	}
	dead := h.deliveries(t, data.DeliveryDead)
	if len(dead) != 2 {
		t.Fatalf("dead letters: %+v", dead)
	}
	for _, d := range dead {
		sub, _ := h.store.Subscriber(ctx, d.SubscriberID)
		switch sub.Email {
		case "unknown@example.com":
			if d.Attempts != 1 || !strings.Contains(d.LastError, "550") {
				t.Errorf("5xx: %d attempts, %q; want 1 attempt and the 550", d.Attempts, d.LastError)
			}
		case "busy@example.com":
			if d.Attempts != 3 || !strings.Contains(d.LastError, "gave up after 3 attempts") || !strings.Contains(d.LastError, "451") {
				t.Errorf("4xx: %d attempts, %q; want 3 and the 451", d.Attempts, d.LastError)
			}
		default:
			t.Errorf("unexpected dead letter for %s", sub.Email)
		}
	}
	if got := h.counter(t, "statusd_deliveries_total", map[string]string{"channel": "email", "result": "retry"}); got != 2 {
		t.Errorf("email retries = %v; want 2", got)
	}
}

func TestSMTPHangingOpensBreaker(t *testing.T) {
	h := newHarness(t, func(h *harness, o *notifier.Options) {
		m, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: h.smtp.Host, Port: h.smtp.Port, TLS: notifier.TLSNone,
			Timeout: 200 * time.Millisecond, Concurrency: 4})
		if err != nil {
			t.Fatal(err)
		}
		o.Mailer = m
		o.EmailRetry = notifier.RetryPolicy{Base: 10 * time.Millisecond, Cap: 20 * time.Millisecond, MaxAttempts: 2}
		o.Breaker = notifier.BreakerSettings{Failures: 3, OpenFor: 100 * time.Millisecond}
	})
	// The server stops answering after RCPT; the mailer gives up on each
	// command after 200ms.
	h.smtp.SetFault(func(string) error { return notifiertest.ErrHang })
	for i := range 8 {
		h.addEmail(t, fmt.Sprintf("u%d@example.com", i))
	}
	h.incident(t, "Down", nil)
	h.settle(t)
	dead := h.deliveries(t, data.DeliveryDead)
	if len(dead) != 8 {
		t.Fatalf("%d dead letters; want 8", len(dead))
	}
	for _, d := range dead {
		if !strings.Contains(d.LastError, "gave up") {
			t.Errorf("dead letter reason %q", d.LastError)
		}
	}
	if got := h.counter(t, "statusd_deliveries_total", map[string]string{"channel": "email", "result": "deferred"}); got == 0 {
		t.Error("no delivery was held back by the open breaker")
	}
	// The server recovers: new notices flow again once the breaker lets a
	// probe through.
	h.smtp.SetFault(nil)
	h.incident(t, "Still down", nil)
	h.smtp.WaitFor(t, 8, wait)
	h.settle(t)
}

// TestWebhookFaultsIsolated: an endpoint answering 500, one that takes a
// minute, and one that answers 410, each on its own host, while healthy
// endpoints on another host receive everything before the failing ones have
// used up their retries.
func TestWebhookFaultsIsolated(t *testing.T) {
	healthy := notifiertest.StartReceiver(t)
	failing := notifiertest.StartReceiver(t)
	failing.SetStatus(func(int) int { return 500 })
	slow := notifiertest.StartReceiver(t)
	slow.SetDelay(3 * time.Second) // far beyond the sender's timeout
	gone := notifiertest.StartReceiver(t)
	gone.SetStatus(func(int) int { return 410 })
	h := newHarness(t, func(h *harness, o *notifier.Options) {
		o.WebhookTimeout = 300 * time.Millisecond
		// Failing endpoints retry slowly, so there is time to see healthy
		// ones finish first.
		o.WebhookRetry = notifier.RetryPolicy{Schedule: []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond}}
	})
	const n = 40
	var secrets []string
	for i := range n {
		s := h.addHook(t, fmt.Sprintf("%s/h%d", healthy.URL, i), data.FormatStatuspage)
		secrets = append(secrets, s.Secret)
	}
	healthy.SetSecrets(secrets...)
	for i := range 3 {
		h.addHook(t, fmt.Sprintf("%s/f%d", failing.URL, i), data.FormatStatuspage)
		h.addHook(t, fmt.Sprintf("%s/s%d", slow.URL, i), data.FormatStatuspage)
	}
	goneHook := h.addHook(t, gone.URL+"/g", data.FormatStatuspage)
	h.incident(t, "Down", nil)
	healthy.WaitFor(t, n, wait)
	// Healthy endpoints are done while the failing ones still wait for
	// retries.
	retrying := h.deliveries(t, data.DeliveryRetrying)
	leased := h.deliveries(t, data.DeliveryLeased)
	if len(retrying)+len(leased) == 0 {
		t.Error("failing endpoints were already finished when the healthy ones were served")
	}
	h.settle(t)
	for _, r := range healthy.Requests() {
		if !r.Verified {
			t.Fatal("a healthy delivery did not verify")
		}
	}
	if len(healthy.Requests()) != n {
		t.Errorf("healthy receiver got %d; want %d (no duplicates)", len(healthy.Requests()), n)
	}
	dead := h.deliveries(t, data.DeliveryDead)
	reasons := map[string]int{}
	for _, d := range dead {
		switch {
		case strings.Contains(d.LastError, "answered 500"):
			reasons["500"]++
		case strings.Contains(d.LastError, "timed out"):
			reasons["timeout"]++
		case strings.Contains(d.LastError, "410"):
			reasons["410"]++
		default:
			t.Errorf("dead letter: %q", d.LastError)
		}
	}
	if reasons["500"] != 3 || reasons["timeout"] != 3 || reasons["410"] != 1 {
		t.Errorf("dead letters by reason: %v", reasons)
	}
	// 410 disabled the endpoint and its owner got an email.
	sub, err := h.store.Subscriber(ctx, goneHook.ID)
	if err != nil || sub.DisabledAt.IsZero() {
		t.Fatalf("410 endpoint: %+v, %v", sub, err)
	}
	msgs := h.smtp.WaitFor(t, 1, wait)
	if msgs[0].To[0] != "owner@example.com" || !strings.Contains(msgs[0].Header.Get("Subject"), "disabled") ||
		!strings.Contains(msgs[0].Text, "410") || strings.Contains(msgs[0].Text, "/g") {
		t.Errorf("owner notice: %q to %v:\n%s", msgs[0].Header.Get("Subject"), msgs[0].To, msgs[0].Text)
	}
}

// TestFailingForDaysDisables: an endpoint that fails without a success for
// longer than DisableAfter is disabled and its owner told.
func TestFailingForDaysDisables(t *testing.T) {
	failing := notifiertest.StartReceiver(t)
	failing.SetStatus(func(int) int { return 503 })
	h := newHarness(t, func(h *harness, o *notifier.Options) {
		o.DisableAfter = time.Millisecond
		o.WebhookRetry = notifier.RetryPolicy{Schedule: []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}}
	})
	hook := h.addHook(t, failing.URL+"/x", data.FormatStatuspage)
	h.incident(t, "Down", nil)
	msgs := h.smtp.WaitFor(t, 1, wait)
	h.settle(t)
	sub, _ := h.store.Subscriber(ctx, hook.ID)
	if sub.DisabledAt.IsZero() {
		t.Fatal("endpoint not disabled")
	}
	if !strings.Contains(msgs[0].Text, "failing for") {
		t.Errorf("owner notice:\n%s", msgs[0].Text)
	}
	if n := len(failing.Requests()); n != 2 {
		t.Errorf("%d attempts; want 2 (the first starts the failing period, the second finds it too long)", n)
	}
}

// TestFailingEndpointWarned: the owner of an endpoint that keeps failing
// is warned once per run of failures, before it would be disabled; a
// success ends the run, and a new run warns again.
func TestFailingEndpointWarned(t *testing.T) {
	recv := notifiertest.StartReceiver(t)
	var status atomic.Int32
	status.Store(503)
	recv.SetStatus(func(int) int { return int(status.Load()) })
	h := newHarness(t, func(h *harness, o *notifier.Options) {
		o.WarnAfter = time.Millisecond
		o.DisableAfter = time.Hour
		o.WebhookRetry = notifier.RetryPolicy{Schedule: []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}}
	})
	hook := h.addHook(t, recv.URL+"/x", data.FormatStatuspage)
	h.incident(t, "Down", nil)
	recv.WaitFor(t, 4, wait)
	msgs := h.smtp.WaitFor(t, 1, wait)
	h.settle(t)
	if n := h.smtp.Count(); n != 1 {
		t.Fatalf("%d notices after 4 failed attempts; want 1 warning", n)
	}
	m := msgs[0]
	if m.To[0] != "owner@example.com" || m.Header.Get("Subject") != "[Fernhill] Your webhook endpoint keeps failing" ||
		!strings.Contains(m.Text, "answered 503") || !strings.Contains(m.Text, "1 hour after the first failure") {
		t.Errorf("warning to %v %q:\n%s", m.To, m.Header.Get("Subject"), m.Text)
	}
	if strings.Contains(m.Text, "/x") {
		t.Errorf("the warning shows the endpoint's path:\n%s", m.Text)
	}
	if sub, _ := h.store.Subscriber(ctx, hook.ID); !sub.DisabledAt.IsZero() {
		t.Fatal("a warned endpoint was disabled")
	}
	// It recovers, then fails again: a new run, a new warning.
	status.Store(200)
	h.incident(t, "Still down", nil)
	recv.WaitFor(t, 5, wait)
	h.settle(t)
	status.Store(500)
	h.incident(t, "Down again", nil)
	h.smtp.WaitFor(t, 2, wait)
	h.settle(t)
	if n := h.smtp.Count(); n != 2 {
		t.Errorf("%d notices; want 2 (one warning per run of failures)", n)
	}
}

// TestGracefulStopParks: stopping while a send is in flight puts it back
// without spending an attempt, and the next engine delivers it.
func TestGracefulStopParks(t *testing.T) {
	slow := notifiertest.StartReceiver(t)
	slow.SetDelay(time.Second)
	h := newHarness(t, nil)
	h.addHook(t, slow.URL+"/a", data.FormatStatuspage)
	h.addHook(t, slow.URL+"/b", data.FormatStatuspage)
	h.incident(t, "Down", nil)
	slow.WaitFor(t, 2, wait)
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := h.eng.Stop(sctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	all, err := h.store.Deliveries(ctx, data.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	webhooks := 0
	for _, d := range all {
		if d.Channel != data.ChannelWebhook {
			continue
		}
		webhooks++
		if d.State != data.DeliveryPending || d.Attempts != 0 {
			t.Errorf("after stop: %s with %d attempts; want pending with 0", d.State, d.Attempts)
		}
	}
	if webhooks != 2 {
		t.Fatalf("%d webhook deliveries", webhooks)
	}
	// A new engine picks them up.
	slow.SetDelay(0)
	eng2, err := notifier.New(h.store, notifier.Options{Page: testPage, From: "status@fernhill.example", EMLDir: t.TempDir(),
		Allow: mustAllow(t), Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng2.Stop(ctx)
	reqs := slow.WaitFor(t, 4, wait)
	ids := map[string]int{}
	for _, r := range reqs {
		ids[r.Header.Get("webhook-id")]++
	}
	for id, c := range ids {
		if c != 2 {
			t.Errorf("webhook-id %s seen %d times; want 2 (interrupted, then delivered with the same id)", id, c)
		}
	}
}

func mustAllow(t *testing.T) notifier.Allowlist {
	a, err := notifier.ParseAllowlist([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestLeaseRecovery: deliveries claimed by a worker that then died come
// back when the lease runs out, with the same Message-ID.
func TestLeaseRecovery(t *testing.T) {
	h := newHarness(t, func(h *harness, o *notifier.Options) { o.Poll = time.Hour }) // only explicit wakes
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.eng.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	h.addEmail(t, "ann@example.com")
	if _, err := h.store.CreateIncident(ctx, data.NewIncident{Name: "Down", Body: "x", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	h.setNow(now)
	// Expand with a throwaway engine that never sends: plan and expand
	// through the store directly.
	if _, err := h.store.Consume(ctx, "notifier", 100, func(tx *data.Tx, evs []data.Event) error {
		for _, ev := range evs {
			if ev.Kind == data.EventIncidentCreated {
				if err := tx.PlanFanout(data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceEveryone, Email: true}); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.store.ExpandFanouts(ctx, 100); err != nil {
		t.Fatal(err)
	}
	claimed, err := h.store.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	// The claiming worker "crashes". A minute later a new engine runs.
	now = now.Add(61 * time.Second)
	eng, err := notifier.New(h.store, notifier.Options{Page: testPage, From: "Fernhill Status <status@fernhill.example>",
		Mailer: mustMailer(t, h.smtp), Poll: 20 * time.Millisecond, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(ctx)
	msgs := h.smtp.WaitFor(t, 1, wait)
	want := fmt.Sprintf("<statusd.%s.fernhill@fernhill.example>", claimed[0].Key)
	if got := msgs[0].Header.Get("Message-ID"); got != want {
		t.Errorf("Message-ID %q; want %q", got, want)
	}
}

func mustMailer(t *testing.T, s *notifiertest.SMTPServer) notifier.Mailer {
	m, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: s.Host, Port: s.Port, TLS: notifier.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTransactionalMailOutbox: confirmation mail waits in the store's mail
// outbox. A temporary SMTP failure is retried with the same Message-ID, a
// permanent one drops the mail with its reason, and mail still queued when
// the engine stops goes out from the next one.
func TestTransactionalMailOutbox(t *testing.T) {
	h := newHarness(t, func(h *harness, o *notifier.Options) {
		o.EmailRetry = notifier.RetryPolicy{Base: 20 * time.Millisecond, Cap: 50 * time.Millisecond, MaxAttempts: 1000}
	})
	var mu sync.Mutex
	refusals := map[string]int{}
	h.smtp.SetFault(func(rcpt string) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(rcpt, "gone@"):
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case strings.HasPrefix(rcpt, "later@") && refusals[rcpt] < 2, strings.HasPrefix(rcpt, "parked@"):
			refusals[rcpt]++
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	})
	confirm := func(to string) notifier.Transactional {
		return notifier.Transactional{To: to, Subject: "Confirm your subscription", Heading: "Confirm your subscription",
			Paragraphs: []string{"Use the link below."}, LinkURL: "https://status.fernhill.example/subscribe/confirm?token=t-" + to,
			LinkText: "Confirm the subscription", Footer: "You receive this because this address was entered."}
	}
	for _, to := range []string{"now@example.com", "later@example.com", "gone@example.com"} {
		if err := h.eng.SendTransactional(confirm(to)); err != nil {
			t.Fatal(err)
		}
	}
	msgs := h.smtp.WaitFor(t, 2, wait)
	byTo := map[string]notifiertest.Message{}
	for _, m := range msgs {
		byTo[m.To[0]] = m
	}
	if m, ok := byTo["later@example.com"]; !ok || !strings.Contains(m.Text, "token=t-later@example.com") {
		t.Fatalf("the retried mail did not arrive whole: %v", byTo)
	}
	waitQueue := func(want int) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			n, _, err := h.store.MailQueue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d mails queued; want %d", n, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitQueue(0) // sent ones deleted, the refused one dead
	if n := h.counter(t, "statusd_deliveries_total", map[string]string{"channel": "email", "result": "dead"}); n != 1 {
		t.Errorf("%v dead emails; want 1 (the refused address)", n)
	}
	mu.Lock()
	tries := refusals["later@example.com"]
	mu.Unlock()
	if tries != 2 {
		t.Errorf("later@ refused %d times; want 2", tries)
	}

	// Parked: the server keeps refusing, the engine stops, a new engine
	// sends it once the server accepts again, under the same Message-ID.
	if err := h.eng.SendTransactional(confirm("parked@example.com")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		mu.Lock()
		n := refusals["parked@example.com"]
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the parked mail was not attempted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := h.eng.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.SendTransactional(confirm("late@example.com")); err == nil {
		t.Error("a stopped engine accepted mail")
	}
	waitQueue(1)
	h.smtp.SetFault(nil)
	mailer, err := notifier.NewSMTPMailer(notifier.SMTPOptions{Host: h.smtp.Host, Port: h.smtp.Port, TLS: notifier.TLSNone, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	eng2, err := notifier.New(h.store, notifier.Options{Page: testPage, From: "status@fernhill.example", Mailer: mailer, Poll: 20 * time.Millisecond,
		EmailRetry: notifier.RetryPolicy{Base: 20 * time.Millisecond, Cap: 50 * time.Millisecond, MaxAttempts: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng2.Stop(ctx)
	msgs = h.smtp.WaitFor(t, 3, wait)
	if m := msgs[2]; m.To[0] != "parked@example.com" || !strings.Contains(m.Text, "token=t-parked@example.com") {
		t.Errorf("third message to %v:\n%s", m.To, m.Text)
	}
	waitQueue(0)
}
