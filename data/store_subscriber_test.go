package data_test

import (
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

func subscriberStore(t *testing.T) *data.Store {
	t.Helper()
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	return s
}

func isInvalid(err error, field string) bool {
	var inv *data.InvalidError
	return errors.As(err, &inv) && (field == "" || inv.Field == field)
}

func TestNormalizeAddress(t *testing.T) {
	good := map[string]string{
		"a@example.com":                 "a@example.com",
		"First.Last+tag@Ex.COM":         "First.Last+tag@ex.com",
		"o'brien@xn--bcher-kva.example": "o'brien@xn--bcher-kva.example",
	}
	for in, want := range good {
		got, err := data.NormalizeAddress("email", in)
		if err != nil || got != want {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "a", "a@", "@b.com", "a@b", "a b@c.com", "a@b.com\r\nBcc: x@y.com", "a@b.com\nX: y",
		"Name <a@b.com>", "a@b.com, c@d.com", "аdmin@example.com", "admin@exаmple.com", "a@bücher.example",
		strings.Repeat("a", 10000) + "@example.com", strings.Repeat("a", 65) + "@example.com", "a@-b.com",
		"a@b..com", `"a b"@c.com`, "a@b.com\x00", "a@[127.0.0.1]", "a@b_c.com", "a@b.com "}
	for _, in := range bad {
		if got, err := data.NormalizeAddress("email", in); !isInvalid(err, "email") {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want an InvalidError", in, got, err)
		}
	}
}

func TestSubscriptionDoubleOptIn(t *testing.T) {
	s := subscriberStore(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	res, err := s.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "Ann@Example.COM",
		Components: []string{"payments"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if res.ConfirmToken == "" || res.AlreadyConfirmed || res.Subscriber.Confirmed() {
		t.Fatalf("first request = %+v; want a token and an unconfirmed subscriber", res)
	}
	if res.Subscriber.Email != "Ann@example.com" {
		t.Errorf("stored address %q", res.Subscriber.Email)
	}
	pend, err := s.PendingSubscriber(ctx, res.ConfirmToken)
	if err != nil || pend.ID != res.Subscriber.ID {
		t.Fatalf("PendingSubscriber = %+v, %v", pend, err)
	}
	// Asking again replaces the token: only the newest link works.
	res2, err := s.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "ann@example.com",
		Journeys: []string{"checkout"}}, time.Hour)
	if err != nil || res2.ConfirmToken == "" || res2.Subscriber.ID != res.Subscriber.ID {
		t.Fatalf("second request = %+v, %v", res2, err)
	}
	if _, err := s.ConfirmSubscriber(ctx, res.ConfirmToken); !isInvalid(err, "token") {
		t.Errorf("superseded token: %v", err)
	}
	sub, err := s.ConfirmSubscriber(ctx, res2.ConfirmToken)
	if err != nil || !sub.Confirmed() || len(sub.Journeys) != 1 || len(sub.Components) != 0 {
		t.Fatalf("confirm = %+v, %v", sub, err)
	}
	// Single use.
	if _, err := s.ConfirmSubscriber(ctx, res2.ConfirmToken); !isInvalid(err, "token") {
		t.Errorf("replayed token: %v", err)
	}
	// A confirmed address asked again: nothing changes, no token.
	res3, err := s.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "ann@example.com"}, time.Hour)
	if err != nil || res3.ConfirmToken != "" || !res3.AlreadyConfirmed || len(res3.Subscriber.Journeys) != 1 {
		t.Fatalf("request for a confirmed address = %+v, %v", res3, err)
	}
	// Forged and malformed tokens.
	for _, tok := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 10000), res3.Subscriber.ManageToken + "'"} {
		if _, err := s.ConfirmSubscriber(ctx, tok); !isInvalid(err, "token") {
			t.Errorf("ConfirmSubscriber(%q): %v", tok, err)
		}
		if _, err := s.SubscriberByToken(ctx, tok); !isInvalid(err, "token") {
			t.Errorf("SubscriberByToken(%q): %v", tok, err)
		}
	}
	// Expiry.
	res4, err := s.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "bob@example.com"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if _, err := s.PendingSubscriber(ctx, res4.ConfirmToken); !isInvalid(err, "token") {
		t.Errorf("expired token shown: %v", err)
	}
	if _, err := s.ConfirmSubscriber(ctx, res4.ConfirmToken); !isInvalid(err, "token") {
		t.Errorf("expired token used: %v", err)
	}
	// Unknown components and journeys are refused, and nothing is stored.
	if _, err := s.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "cy@example.com",
		Components: []string{"nope"}}, time.Hour); !isInvalid(err, "components") {
		t.Errorf("unknown component: %v", err)
	}
	list, err := s.Subscribers(ctx, data.SubscriberFilter{Search: "cy@"})
	if err != nil || len(list) != 0 {
		t.Errorf("refused request stored: %v, %v", list, err)
	}
}

func TestManageAndUnsubscribe(t *testing.T) {
	s := subscriberStore(t)
	res, err := s.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelWebhook, Email: "ops@example.com",
		URL: "https://hooks.example.com/x", Format: "slack"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.ConfirmSubscriber(ctx, res.ConfirmToken)
	if err != nil || !strings.HasPrefix(sub.Secret, "whsec_") || sub.Format != data.FormatSlack || sub.URL != "https://hooks.example.com/x" {
		t.Fatalf("confirmed webhook = %+v, %v", sub, err)
	}
	tok := sub.ManageToken
	got, err := s.SubscriberByToken(ctx, tok)
	if err != nil || got.ID != sub.ID {
		t.Fatalf("SubscriberByToken = %+v, %v", got, err)
	}
	up, err := s.UpdateSubscription(ctx, tok, []string{"idp", "payments", "payments"}, nil)
	if err != nil || len(up.Components) != 2 {
		t.Fatalf("UpdateSubscription = %+v, %v", up, err)
	}
	rot, err := s.RotateWebhookSecret(ctx, tok, time.Hour)
	if err != nil || rot.Secret == sub.Secret || rot.PrevSecret != sub.Secret || rot.PrevSecretUntil.IsZero() {
		t.Fatalf("RotateWebhookSecret = %+v, %v", rot, err)
	}
	if err := s.Unsubscribe(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(ctx, tok); !isInvalid(err, "token") {
		t.Errorf("second unsubscribe: %v", err)
	}
	if _, err := s.Subscriber(ctx, sub.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("unsubscribed subscriber still there: %v", err)
	}
}

// planAll plans the fan-out of every new event for every channel, as the
// notifier does by default, and expands them a page of size page at a time.
func planAll(t *testing.T, s *data.Store, page int) {
	t.Helper()
	for {
		n, err := s.Consume(ctx, "notifier", 100, func(tx *data.Tx, evs []data.Event) error {
			for _, ev := range evs {
				f := data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceScoped, Email: true, Webhook: true}
				switch p := ev.Payload.(type) {
				case *data.IncidentChanged:
					if !p.Notify {
						continue
					}
					for _, c := range p.Components {
						f.Components = append(f.Components, c.ComponentID)
					}
				case *data.ComponentStatusChanged:
					f.Components = []string{p.ComponentID}
				default:
					continue
				}
				if err := tx.PlanFanout(f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	for {
		_, more, err := s.ExpandFanouts(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			return
		}
	}
}

func addSub(t *testing.T, s *data.Store, email string, comps, journeys []string) int64 {
	t.Helper()
	sub, err := s.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: email + "@example.com", Components: comps, Journeys: journeys}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return sub.ID
}

func recipients(t *testing.T, s *data.Store, eventID int64) []string {
	t.Helper()
	ds, err := s.Deliveries(ctx, data.DeliveryFilter{EventID: eventID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		sub, err := s.Subscriber(ctx, d.SubscriberID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(sub.Email, "@example.com"))
	}
	sort.Strings(out)
	return out
}

func lastEvent(t *testing.T, s *data.Store) int64 {
	t.Helper()
	evs, err := s.Events(ctx, 0, 100000)
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v", err)
	}
	return evs[len(evs)-1].ID
}

// TestWhoHearsWhat: a subscriber hears about incidents affecting what it
// subscribed to — a component, its group, its journey, everything — and
// about components added to its journey or group later.
func TestWhoHearsWhat(t *testing.T) {
	s := subscriberStore(t)
	if _, err := s.Register(ctx, "notifier"); err != nil {
		t.Fatal(err)
	}
	addSub(t, s, "all", nil, nil)
	addSub(t, s, "google", []string{"sso-google"}, nil)
	addSub(t, s, "group", []string{"idp"}, nil)
	addSub(t, s, "journey", nil, []string{"sign-in"})
	addSub(t, s, "pay", []string{"payments"}, nil)
	if _, err := s.RequestSubscription(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "pending@example.com"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.SyncStaff(ctx, []string{"oncall@example.com"}); err != nil {
		t.Fatal(err)
	}

	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Google sign-in failing", Body: "Looking.", Impact: data.ImpactMajor,
		Components: map[string]data.ComponentStatus{"sso-google": data.MajorOutage}, Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	planAll(t, s, 2)
	evs, err := s.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var incEvent, compEvent int64
	for _, ev := range evs {
		switch ev.Kind {
		case data.EventIncidentCreated:
			incEvent = ev.ID
		case data.EventComponentStatusChanged:
			compEvent = ev.ID
		}
	}
	want := []string{"all", "google", "group", "journey"}
	if got := recipients(t, s, incEvent); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("incident on sso-google reached %v; want %v", got, want)
	}
	if compEvent != 0 {
		if got := recipients(t, s, compEvent); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("status change of sso-google reached %v; want %v", got, want)
		}
	}

	// A component added to the journey and the group later is covered.
	c := catalog()
	c.Journeys[0].Components[1].Children = append(c.Journeys[0].Components[1].Children,
		data.CatalogComponent{ID: "sso-okta", Name: "Okta", Showcase: true})
	if _, err := s.SyncCatalog(ctx, c, "config"); err != nil {
		t.Fatal(err)
	}
	planAll(t, s, 1000)
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Okta slow", Body: "Looking.",
		Components: map[string]data.ComponentStatus{"sso-okta": data.DegradedPerformance}, Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	planAll(t, s, 1000)
	for _, ev := range mustEvents(t, s) {
		if ev.Kind == data.EventIncidentCreated {
			incEvent = ev.ID
		}
	}
	want = []string{"all", "group", "journey"}
	if got := recipients(t, s, incEvent); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("incident on the new sso-okta reached %v; want %v", got, want)
	}

	// An incident naming no component concerns everyone.
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Everything is slow", Body: "Looking.", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	// (planAll plans it as scoped with no targets: only "all"; the
	// notifier plans it for everyone. Check the store does both.)
	n, err := s.Consume(ctx, "notifier", 100, func(tx *data.Tx, evs []data.Event) error {
		for _, ev := range evs {
			if err := tx.PlanFanout(data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceEveryone, Email: true}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("consume: %d, %v", n, err)
	}
	planAll(t, s, 3)
	want = []string{"all", "google", "group", "journey", "pay"}
	if got := recipients(t, s, lastEvent(t, s)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("incident on nothing reached %v; want %v", got, want)
	}

	// Staff only hear staff fan-outs.
	n, err = s.Consume(ctx, "notifier", 100, func(tx *data.Tx, evs []data.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	_ = n
}

func mustEvents(t *testing.T, s *data.Store) []data.Event {
	t.Helper()
	evs, err := s.Events(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestFanoutExactlyOnce: planning and expanding again, or redoing a page
// after a crash, never makes a second delivery for an (event, subscriber).
func TestFanoutExactlyOnce(t *testing.T) {
	s := subscriberStore(t)
	if _, err := s.Register(ctx, "notifier"); err != nil {
		t.Fatal(err)
	}
	var list []data.NewSubscriber
	for i := range 250 {
		list = append(list, data.NewSubscriber{Channel: data.ChannelEmail, Email: strings.Repeat("x", 1+i%5) + string(rune('a'+i%26)) + "-" + itoa(i) + "@example.com"})
	}
	if n, err := s.AddConfirmedSubscribers(ctx, list, "test"); err != nil || n != 250 {
		t.Fatalf("AddConfirmedSubscribers = %d, %v", n, err)
	}
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Down", Body: "x", Actor: "ann",
		Components: map[string]data.ComponentStatus{"payments": data.MajorOutage}}); err != nil {
		t.Fatal(err)
	}
	var inc int64
	for _, ev := range mustEvents(t, s) {
		if ev.Kind == data.EventIncidentCreated {
			inc = ev.ID
		}
	}
	// Plan it twice (as a consumer that crashed after planning but before
	// the cursor moved would): the second is a no-op.
	plan := func(tx *data.Tx, _ []data.Event) error {
		return tx.PlanFanout(data.Fanout{EventID: inc, EventAt: time.Now(), Audience: data.AudienceScoped, Components: []string{"payments"}, Email: true})
	}
	if _, err := s.Consume(ctx, "notifier", 100, plan); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Also", Body: "x", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consume(ctx, "notifier", 100, plan); err != nil {
		t.Fatal(err)
	}
	pages := 0
	for {
		n, more, err := s.ExpandFanouts(ctx, 40)
		if err != nil {
			t.Fatal(err)
		}
		if n > 40 {
			t.Fatalf("a page of 40 subscribers inserted %d", n)
		}
		pages++
		if !more {
			break
		}
	}
	if pages < 7 {
		t.Errorf("expansion took %d pages; want at least 7 of 40", pages)
	}
	c, err := s.DeliveryCounts(ctx, inc)
	if err != nil || c[data.DeliveryPending] != 250 {
		t.Fatalf("deliveries = %v, %v; want 250 pending", c, err)
	}
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

// TestDeliveryLifecycle: claim under a lease, a lease that runs out makes
// the delivery claimable again, release does not count an attempt, retries
// wait, dead letters keep their reason, a 410 disables the endpoint and
// queues a notice to its owner.
func TestDeliveryLifecycle(t *testing.T) {
	s := subscriberStore(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	if _, err := s.Register(ctx, "notifier"); err != nil {
		t.Fatal(err)
	}
	addSub(t, s, "a", nil, nil)
	hook, err := s.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelWebhook, Email: "owner@example.com",
		URL: "https://hooks.example.com/h"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Down", Body: "x", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	planAll(t, s, 100)

	ds, err := s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim email = %v, %v", ds, err)
	}
	d := ds[0]
	if d.Subscriber.Email != "a@example.com" || d.Key != data.EventKey(d.EventID, d.SubscriberID) || d.State != data.DeliveryLeased {
		t.Fatalf("claimed %+v", d)
	}
	// Leased: nobody else gets it until the lease runs out.
	if again, _ := s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute); len(again) != 0 {
		t.Fatalf("leased delivery claimed twice: %v", again)
	}
	now = now.Add(61 * time.Second)
	again, err := s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != d.ID || again[0].Attempts != 0 {
		t.Fatalf("after the lease ran out: %v, %v", again, err)
	}
	// The first worker reports late, under its old lease: ignored.
	if err := s.FinishDeliveries(ctx, []data.DeliveryResult{{ID: d.ID, Lease: d.LeaseUntil, Outcome: data.OutcomeSent}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Deliveries(ctx, data.DeliveryFilter{SubscriberID: d.SubscriberID}); got[0].State != data.DeliveryLeased {
		t.Fatalf("a stale lease's result applied: %+v", got[0])
	}
	// ReleaseLeases (a notifier starting) puts it back at once.
	if n, err := s.ReleaseLeases(ctx); err != nil || n != 1 {
		t.Fatalf("ReleaseLeases = %d, %v", n, err)
	}
	if again, err = s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute); err != nil || len(again) != 1 {
		t.Fatalf("after ReleaseLeases: %v, %v", again, err)
	}
	// Release: back, no attempt counted.
	if err := s.FinishDeliveries(ctx, []data.DeliveryResult{{ID: d.ID, Outcome: data.OutcomeRelease}}); err != nil {
		t.Fatal(err)
	}
	again, _ = s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if len(again) != 1 || again[0].Attempts != 0 {
		t.Fatalf("after release: %+v", again)
	}
	// Retry: waits until its time, attempt counted.
	if err := s.FinishDeliveries(ctx, []data.DeliveryResult{{ID: d.ID, Outcome: data.OutcomeRetry, Next: now.Add(time.Minute), Error: "451 try later"}}); err != nil {
		t.Fatal(err)
	}
	if early, _ := s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute); len(early) != 0 {
		t.Fatalf("retry claimed before its time: %v", early)
	}
	now = now.Add(time.Minute)
	again, _ = s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if len(again) != 1 || again[0].Attempts != 1 || again[0].LastError != "451 try later" {
		t.Fatalf("retry: %+v", again)
	}
	if err := s.FinishDeliveries(ctx, []data.DeliveryResult{{ID: d.ID, Outcome: data.OutcomeSent}}); err != nil {
		t.Fatal(err)
	}
	// A late outcome from a worker whose lease ran out changes nothing.
	if err := s.FinishDeliveries(ctx, []data.DeliveryResult{{ID: d.ID, Outcome: data.OutcomeDead, Error: "late"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Deliveries(ctx, data.DeliveryFilter{SubscriberID: d.SubscriberID})
	if len(got) != 1 || got[0].State != data.DeliverySent || got[0].Attempts != 2 || got[0].SentAt.IsZero() {
		t.Fatalf("sent delivery = %+v", got)
	}

	// The webhook answers 410: dead, endpoint disabled, owner told.
	hs, err := s.ClaimDeliveries(ctx, data.ChannelWebhook, 10, time.Minute)
	if err != nil || len(hs) != 1 || hs[0].Subscriber.URL != "https://hooks.example.com/h" || hs[0].Subscriber.Secret == "" {
		t.Fatalf("claim webhook = %+v, %v", hs, err)
	}
	if err := s.FinishDeliveries(ctx, []data.DeliveryResult{{ID: hs[0].ID, Outcome: data.OutcomeDead, Error: "endpoint answered 410 Gone", Disable: true, Failing: true}}); err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscriber(ctx, hook.ID)
	if err != nil || sub.DisabledAt.IsZero() || sub.FailingSince.IsZero() {
		t.Fatalf("after 410: %+v, %v", sub, err)
	}
	notices, err := s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if err != nil || len(notices) != 1 || notices[0].Notice != data.NoticeWebhookDisabled || notices[0].Subscriber.Email != "owner@example.com" ||
		!strings.Contains(notices[0].NoticeDetail, "410") || notices[0].Key == "" {
		t.Fatalf("owner notice = %+v, %v", notices, err)
	}
	dead, _ := s.Deliveries(ctx, data.DeliveryFilter{State: data.DeliveryDead})
	if len(dead) != 1 || dead[0].LastError != "endpoint answered 410 Gone" {
		t.Fatalf("dead letters = %+v", dead)
	}
	// A disabled endpoint is not fanned out to.
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Again", Body: "x", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	planAll(t, s, 100)
	if hs, _ := s.ClaimDeliveries(ctx, data.ChannelWebhook, 10, time.Minute); len(hs) != 0 {
		t.Fatalf("disabled endpoint got deliveries: %+v", hs)
	}
	stats, err := s.DeliveryStats(ctx)
	if err != nil || len(stats) != 2 {
		t.Fatalf("stats = %v, %v", stats, err)
	}
}

// TestDeliveriesForOperators: a subscriber's deliveries newest first, paged
// with Before; an incident's events with their deliveries counted; events
// looked up by id.
func TestDeliveriesForOperators(t *testing.T) {
	s := subscriberStore(t)
	if _, err := s.Register(ctx, "notifier"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddConfirmedSubscribers(ctx, []data.NewSubscriber{{Channel: data.ChannelEmail, Email: "a@example.com"},
		{Channel: data.ChannelEmail, Email: "b@example.com"}}, "test"); err != nil {
		t.Fatal(err)
	}
	in, err := s.CreateIncident(ctx, data.NewIncident{Name: "Down", Body: "x", Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Identified, Body: "Found it.", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	var evs []int64
	if _, err := s.Consume(ctx, "notifier", 100, func(tx *data.Tx, list []data.Event) error {
		for _, ev := range list {
			if ev.Subject != in.ID {
				continue
			}
			evs = append(evs, ev.ID)
			if err := tx.PlanFanout(data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceEveryone, Email: true}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil || len(evs) != 2 {
		t.Fatalf("consume: %v, events %v", err, evs)
	}
	// Before expansion the counts are there, empty and marked unfinished.
	counts, err := s.SubjectDeliveryCounts(ctx, in.ID)
	if err != nil || len(counts) != 2 || !counts[0].Expanding || len(counts[0].Counts) != 0 {
		t.Fatalf("counts before expansion = %+v, %v", counts, err)
	}
	for more := true; more; {
		if _, more, err = s.ExpandFanouts(ctx, 100); err != nil {
			t.Fatal(err)
		}
	}
	counts, err = s.SubjectDeliveryCounts(ctx, in.ID)
	if err != nil || len(counts) != 2 || counts[0].EventID != evs[0] || counts[0].Kind != data.EventIncidentCreated ||
		counts[1].Kind != data.EventIncidentUpdated || counts[1].Expanding || counts[1].Counts[data.DeliveryPending] != 2 {
		t.Fatalf("counts = %+v, %v", counts, err)
	}
	if none, err := s.SubjectDeliveryCounts(ctx, "no-such-incident"); err != nil || len(none) != 0 {
		t.Errorf("counts of nothing = %+v, %v", none, err)
	}

	subs, err := s.Subscribers(ctx, data.SubscriberFilter{Search: "a@"})
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscribers: %v, %v", subs, err)
	}
	ds, err := s.Deliveries(ctx, data.DeliveryFilter{SubscriberID: subs[0].ID, Newest: true, Limit: 1})
	if err != nil || len(ds) != 1 || ds[0].EventID != evs[1] {
		t.Fatalf("newest delivery = %+v, %v; want event %d's", ds, err, evs[1])
	}
	older, err := s.Deliveries(ctx, data.DeliveryFilter{SubscriberID: subs[0].ID, Newest: true, Before: ds[0].ID})
	if err != nil || len(older) != 1 || older[0].EventID != evs[0] {
		t.Fatalf("older deliveries = %+v, %v; want event %d's", older, err, evs[0])
	}

	got, err := s.EventsByID(ctx, evs[1], evs[0], evs[1], 1<<40)
	if err != nil || len(got) != 2 || got[evs[0]].Kind != data.EventIncidentCreated {
		t.Fatalf("EventsByID = %+v, %v", got, err)
	}
	if p, ok := got[evs[1]].Payload.(*data.IncidentChanged); !ok || p.Name != "Down" {
		t.Errorf("event payload = %#v", got[evs[1]].Payload)
	}
}

// TestRetryDelivery: only a dead delivery of a confirmed, enabled
// subscriber goes back in the queue, due now, under the same key.
func TestRetryDelivery(t *testing.T) {
	s := draftStore(t)
	sub, err := s.AddConfirmedSubscriber(ctx, data.NewSubscriber{Channel: data.ChannelEmail, Email: "ann@example.com"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "notifier"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIncident(ctx, data.NewIncident{Name: "Down", Body: "x", Actor: "ann"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Consume(ctx, "notifier", 10, func(tx *data.Tx, evs []data.Event) error {
		for _, ev := range evs {
			if err := tx.PlanFanout(data.Fanout{EventID: ev.ID, EventAt: ev.CreatedAt, Audience: data.AudienceEveryone, Email: true}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ExpandFanouts(ctx, 100); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].SubscriberID != sub.ID {
		t.Fatalf("claimed %+v, %v", claimed, err)
	}
	d := claimed[0]
	if err := s.RetryDelivery(ctx, d.ID, "cara"); !errors.Is(err, data.ErrConflict) {
		t.Errorf("retry of a leased delivery: %v; want ErrConflict", err)
	}
	if err := s.FinishDeliveries(ctx, []data.DeliveryResult{{ID: d.ID, Outcome: data.OutcomeDead, Error: "mailbox unavailable", Lease: d.LeaseUntil}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryDelivery(ctx, 99999, "cara"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("retry of no delivery: %v; want ErrNotFound", err)
	}
	if err := s.RetryDelivery(ctx, d.ID, "cara"); err != nil {
		t.Fatal(err)
	}
	again, err := s.ClaimDeliveries(ctx, data.ChannelEmail, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != d.ID || again[0].Key != d.Key || again[0].Attempts != 1 {
		t.Fatalf("after a retry, claimed %+v, %v; want the same delivery with its key and one attempt behind it", again, err)
	}
}

// TestMailOutboxLease: a claimed mail is not claimed again while its lease
// runs, is due again when a new notifier releases the last one's claims,
// and is gone once sent.
func TestMailOutboxLease(t *testing.T) {
	s := draftStore(t)
	id, err := s.QueueMail(ctx, "ann@example.com", []byte(`{"to":"ann@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimMail(ctx, 8, 2*time.Minute)
	if err != nil || len(got) != 1 || got[0].ID != id || got[0].To != "ann@example.com" || string(got[0].Body) != `{"to":"ann@example.com"}` {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	if again, _ := s.ClaimMail(ctx, 8, 2*time.Minute); len(again) != 0 {
		t.Fatalf("claimed twice within the lease: %+v", again)
	}
	if n, err := s.ReleaseMail(ctx, 2*time.Minute); err != nil || n != 1 {
		t.Fatalf("ReleaseMail = %d, %v; want 1", n, err)
	}
	again, err := s.ClaimMail(ctx, 8, 2*time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != id {
		t.Fatalf("after a release, claim = %+v, %v", again, err)
	}
	if err := s.FinishMail(ctx, data.MailResult{ID: id}); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.MailQueue(ctx); err != nil || n != 0 {
		t.Errorf("after sending, %d queued, %v", n, err)
	}
}
