package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// goldenNow is the fixed "now" of every fixture: golden files depend on it.
var goldenNow = time.Date(2026, 11, 20, 15, 30, 0, 0, time.UTC)

var berlin = mustLoadLocation("Europe/Berlin")

func mustLoadLocation(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// fixtureCatalog has groups, a component shown only when degraded, one
// without an uptime bar, and hostile names: markup, right-to-left text,
// emoji and a very long name.
func fixtureCatalog() data.Catalog {
	return data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "sign-in", Name: "Sign in", Description: "Logging in to the web and mobile apps.", Components: []data.CatalogComponent{
			{ID: "auth-api", Name: "Authentication API", Description: "Issues sessions and tokens.", Showcase: true},
			{ID: "idp", Name: "Identity providers", Children: []data.CatalogComponent{
				{ID: "sso-google", Name: "Google sign-in", Showcase: true},
				{ID: "sso-apple", Name: "Apple sign-in", Showcase: true},
			}},
		}},
		{ID: "search", Name: "Search", Components: []data.CatalogComponent{
			{ID: "search-api", Name: "Search API", Showcase: true},
			{ID: "search-index", Name: `<script>alert("x")</script> & "index"`, Showcase: true},
		}},
		{ID: "checkout", Name: "Checkout 🛒", Description: "Cart, payment & confirmation.", Components: []data.CatalogComponent{
			{ID: "payments", Name: "Payments 💳", Showcase: true},
			{ID: "cart", Name: "سلة التسوق (עגלה)", Showcase: true},
			{ID: "fraud", Name: "Fraud screening", OnlyShowIfDegraded: true, Showcase: true},
			{ID: "receipts", Name: strings.Repeat("Very long receipt service name ", 7)[:190], Showcase: true},
		}},
		{ID: "public-api", Name: "Public API", Components: []data.CatalogComponent{
			{ID: "rest", Name: "REST API", Showcase: true},
			{ID: "webhooks", Name: "Webhooks", Showcase: false},
		}},
	}}
}

// fixtureStore builds a store whose history starts 95 days before
// goldenNow, with incidents of every status and maintenance of every
// status. Ids and times are deterministic.
func fixtureStore(t testing.TB) *data.Store {
	t.Helper()
	ctx := context.Background()
	s := datatest.MustOpen(t)
	clock := goldenNow.AddDate(0, 0, -95)
	s.Now = func() time.Time { return clock }
	n := 0
	s.NewID = func() string { n++; return fmt.Sprintf("fx%010d", n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.SyncCatalog(ctx, fixtureCatalog(), "config")
	must(err)
	at := func(daysAgo int, hour int) {
		clock = time.Date(goldenNow.Year(), goldenNow.Month(), goldenNow.Day()-daysAgo, hour, 0, 0, 0, time.UTC)
	}
	set := func(id string, st data.ComponentStatus) {
		var err error
		if st == data.Operational { // the trouble is over: the override goes
			_, err = s.ClearInput(ctx, id, data.SourceOverride, "", "fixture", "")
		} else {
			_, err = s.SetComponentStatus(ctx, data.SetStatus{ComponentID: id, Status: st, Actor: "fixture"})
		}
		must(err)
	}
	incident := func(name string, impact data.Impact, body string, comps map[string]data.ComponentStatus) string {
		in, err := s.CreateIncident(ctx, data.NewIncident{Name: name, Impact: impact, Body: body, Components: comps, Actor: "fixture"})
		must(err)
		return in.ID
	}
	update := func(id string, st data.IncidentStatus, body string) {
		_, err := s.AddUpdate(ctx, id, data.NewUpdate{Status: st, Body: body, Actor: "fixture"})
		must(err)
	}

	// Some trouble spread over the window for the uptime bars.
	at(60, 9)
	set("search-api", data.DegradedPerformance)
	at(60, 11)
	set("search-api", data.Operational)
	at(45, 2)
	set("rest", data.MajorOutage)
	at(45, 3)
	set("rest", data.Operational)

	// A resolved incident a month ago, through every open stage.
	at(30, 10)
	id := incident("Checkout payments failing", data.ImpactMajor, "Some card payments fail.\n\nWe are investigating.",
		map[string]data.ComponentStatus{"payments": data.PartialOutage})
	at(30, 11)
	update(id, data.Identified, "A certificate expired at our payment provider.")
	at(30, 12)
	update(id, data.Monitoring, "The certificate was renewed. We are watching error rates.")
	at(30, 13)
	update(id, data.Resolved, "Payments work again.")

	// One with a postmortem.
	at(10, 8)
	id = incident("Search results stale", data.ImpactMinor, "Results may be up to an hour old.",
		map[string]data.ComponentStatus{"search-index": data.DegradedPerformance})
	at(10, 9)
	update(id, data.Resolved, "Indexing caught up.")
	at(9, 9)
	update(id, data.Postmortem, "A queue consumer stalled after a deploy.\nWe added an alert on consumer lag.")

	// Maintenance of every status.
	at(20, 6)
	mt, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Database upgrade", Body: "We will upgrade the main database.",
		ScheduledFor: clock.Add(24 * time.Hour), ScheduledUntil: clock.Add(26 * time.Hour), ComponentIDs: []string{"payments", "cart"}, Actor: "fixture"})
	must(err)
	at(19, 6)
	update(mt.ID, data.InProgress, "The upgrade has started.")
	at(19, 7)
	update(mt.ID, data.Verifying, "Checking data.")
	at(19, 8)
	update(mt.ID, data.Completed, "The upgrade is complete.")

	at(1, 10)
	_, err = s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Webhook relay move", Body: "Deliveries may be delayed by up to 5 minutes.",
		ScheduledFor: clock.Add(time.Hour), ScheduledUntil: goldenNow.Add(time.Hour), ComponentIDs: []string{"webhooks"}, Actor: "fixture"})
	must(err)
	mtActive := fmt.Sprintf("fx%010d", n-1)
	at(0, 9)
	update(mtActive, data.InProgress, "Moving the relay now.")
	at(0, 10)
	_, err = s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Apple sign-in certificate rotation", Body: "Sign in with Apple may fail briefly.",
		ScheduledFor: goldenNow.Add(48 * time.Hour), ScheduledUntil: goldenNow.Add(49 * time.Hour), ComponentIDs: []string{"sso-apple"}, Actor: "fixture"})
	must(err)
	at(0, 11)
	_, err = s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Receipt storage migration", Body: "Receipts are read-only.",
		ScheduledFor: clock.Add(-time.Hour), ScheduledUntil: goldenNow.Add(2 * time.Hour), ComponentIDs: []string{"receipts"}, Actor: "fixture"})
	must(err)
	verifying := fmt.Sprintf("fx%010d", n-1)
	update(verifying, data.InProgress, "Copying.")
	at(0, 12)
	update(verifying, data.Verifying, "Copy done; verifying checksums.")

	// Open incidents: investigating, identified, monitoring.
	at(0, 13)
	incident(`<script>alert("pwn")</script> Sign-in failures for some users`, data.ImpactCritical,
		"Users see <b>errors</b> & timeouts when signing in.\nWe are investigating.",
		map[string]data.ComponentStatus{"auth-api": data.MajorOutage, "sso-google": data.PartialOutage})
	at(0, 14)
	id = incident("البحث بطيء — Search is slow 🐢", data.ImpactMinor, "Search takes longer than usual.",
		map[string]data.ComponentStatus{"search-api": data.DegradedPerformance})
	at(0, 14)
	clock = clock.Add(20 * time.Minute)
	update(id, data.Identified, "A slow index shard was found.")
	at(0, 15)
	id = incident("Fraud screening delays", data.ImpactMajor, "Orders wait for fraud screening.",
		map[string]data.ComponentStatus{"fraud": data.PartialOutage})
	clock = clock.Add(10 * time.Minute)
	update(id, data.Monitoring, "A fix is deployed; we are monitoring.")

	clock = goldenNow
	return s
}

// fixtureOptions are the server options the golden files were made with.
func fixtureOptions() Options {
	return Options{
		Page: Page{ID: "fernhill", Name: "Fernhill", URL: "https://status.fernhill.example", TimeZoneName: "Europe/Berlin",
			Location: berlin, Language: "en", SupportURL: "https://fernhill.example/support",
			Links: []Link{{Name: "Privacy", URL: "https://fernhill.example/privacy"}}},
		Cache: CachePolicy{MaxAge: 30 * time.Second, StaleWhileRevalidate: time.Minute, StaleIfError: 24 * time.Hour, CDNMaxAge: time.Minute},
		Now:   func() time.Time { return goldenNow },
	}
}

func newFixtureServer(t testing.TB) (*Server, *data.Store) {
	t.Helper()
	st := fixtureStore(t)
	srv, err := New(st, fixtureOptions())
	if err != nil {
		t.Fatal(err)
	}
	return srv, st
}
