package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// Hostile names for the embed tests: markup that would run script if it
// were parsed, and a right-to-left override.
const (
	hostileImg      = `<img src=x onerror=alert(1)>`
	hostileSVG      = `"><svg onload=alert(2)>`
	hostileRTL      = "Admin \u202egnp.exe"
	hostileJourney  = `<img src=x onerror=alert(4)> journey`
	hostileIncident = `"><img src=x onerror=alert(3)> Checkout <b>down</b> ` + "\u202eoops"
)

// embedCatalog is a small page with a journey of hostile names.
func embedCatalog() data.Catalog {
	return data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "shop", Name: "Shop", Components: []data.CatalogComponent{
			{ID: "payments", Name: "Payments", Showcase: true},
			{ID: "search", Name: "Search", Showcase: true},
			{ID: "delivery", Name: "Delivery", Children: []data.CatalogComponent{
				{ID: "tracking", Name: "Tracking", Showcase: true},
				{ID: "labels", Name: "Labels", Showcase: true},
			}},
		}},
		{ID: "hostile", Name: hostileJourney, Components: []data.CatalogComponent{
			{ID: "evil-img", Name: hostileImg, Showcase: true},
			{ID: "evil-svg", Name: hostileSVG, Showcase: true},
			{ID: "evil-rtl", Name: hostileRTL, Showcase: true},
		}},
		// A journey that shares its id with a component.
		{ID: "search", Name: "Finding things", Components: []data.CatalogComponent{
			{ID: "suggest", Name: "Suggestions", Showcase: true},
		}},
	}}
}

// embedStore is embedCatalog with 40 days of history: tracking had a
// three-hour major outage 35 days ago and a one-hour partial outage 5 days
// ago, and an open incident with a hostile name affects evil-img.
func embedStore(t testing.TB) *data.Store {
	t.Helper()
	ctx := context.Background()
	s := datatest.MustOpen(t)
	clock := goldenNow.AddDate(0, 0, -40)
	s.Now = func() time.Time { return clock }
	n := 0
	s.NewID = func() string { n++; return fmt.Sprintf("em%010d", n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.SyncCatalog(ctx, embedCatalog(), "config")
	must(err)
	set := func(daysAgo, hour int, id string, st data.ComponentStatus) {
		clock = time.Date(goldenNow.Year(), goldenNow.Month(), goldenNow.Day()-daysAgo, hour, 0, 0, 0, time.UTC)
		_, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: id, Status: st, Source: "admin", Actor: "fixture"})
		must(err)
	}
	set(35, 8, "tracking", data.MajorOutage)
	set(35, 11, "tracking", data.Operational)
	set(5, 8, "tracking", data.PartialOutage)
	set(5, 9, "tracking", data.Operational)
	clock = goldenNow.Add(-time.Hour)
	_, err = s.CreateIncident(ctx, data.NewIncident{Name: hostileIncident, Impact: data.ImpactMinor, Body: "We are looking into it.",
		Components: map[string]data.ComponentStatus{"evil-img": data.PartialOutage}, Actor: "fixture"})
	must(err)
	clock = goldenNow
	return s
}

// embedServer serves embedStore on a loopback listener and returns its base
// URL. The snapshot is rebuilt 10 ms after a change once Start is called.
func embedServer(t *testing.T, opt func(*Options)) (*Server, *data.Store, string) {
	t.Helper()
	st := embedStore(t)
	o := fixtureOptions()
	o.Debounce = 10 * time.Millisecond
	if opt != nil {
		opt(&o)
	}
	srv, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, st, listen(t, srv)
}
