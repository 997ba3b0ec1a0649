package slo_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
	"github.com/statusd/statusd/probes/slo"
)

var ctx = context.Background()

// clock is a settable clock for the store and the engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func catalogStore(t *testing.T, clk *clock) *data.Store {
	t.Helper()
	s := datatest.MustOpen(t)
	s.Now = clk.Now
	_, err := s.SyncCatalog(ctx, data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "checkout", Name: "Checkout", Components: []data.CatalogComponent{
			{ID: "cart", Name: "Cart", Showcase: true},
			{ID: "payments", Name: "Payments", Showcase: true},
		}},
		{ID: "search", Name: "Search", Components: []data.CatalogComponent{{ID: "search-api", Name: "Search API", Showcase: true}}},
	}}, "config")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func checkoutSLO() slo.SLO {
	return slo.SLO{Definition: slo.Definition{ID: "checkout-availability", JourneyID: "checkout", Name: "Checkout availability",
		Objective: 99.9, Window: slo.Window{Days: 28}}}
}

func statusOf(t *testing.T, s *data.Store, id string) (data.ComponentStatus, string) {
	t.Helper()
	ins, err := s.Inputs(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	st, by := data.Resolve(ins)
	return st, by.Reason
}

// TestBurnDrivesStatus pushes a burst of bad events, sees the journey's
// components go to partial outage with a reason naming the SLO, the windows
// and the rates, then good events as the window moves until they recover.
func TestBurnDrivesStatus(t *testing.T) {
	clk := &clock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	s := catalogStore(t, clk)
	e, err := slo.New(s, []slo.SLO{checkoutSLO()}, slo.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	pos, _ := s.Register(ctx, "test")
	t0 := clk.Now()
	// An hour of healthy traffic, then 5 minutes with 2% errors.
	var evs []slo.Event
	for i := 65; i > 5; i-- {
		evs = append(evs, slo.Event{Time: t0.Add(-time.Duration(i) * time.Minute), Good: 1000, Total: 1000})
	}
	for i := 4; i >= 0; i-- {
		evs = append(evs, slo.Event{Time: t0.Add(-time.Duration(i) * time.Minute), Good: 800, Total: 1000})
	}
	if err := e.Push(ctx, "checkout-availability", evs); err != nil {
		t.Fatal(err)
	}
	// 1h (the minutes 59 ago to now, 5 minutes ago missing): 1,000 bad of
	// 59,000 = 16.9×; 5m: 20% → 200×.
	want := "SLO Checkout availability: burning error budget 16.9× over 1h and 200× over 5m (objective 99.9%)"
	for _, id := range []string{"cart", "payments"} {
		if st, why := statusOf(t, s, id); st != data.PartialOutage || why != want {
			t.Fatalf("%s: %s %q; want partial_outage %q", id, st, why, want)
		}
	}
	if st, _ := statusOf(t, s, "search-api"); st != data.Operational {
		t.Fatalf("another journey's component changed: %s", st)
	}
	evsOut, _ := s.Events(ctx, pos, 100)
	var burn *data.SLOBurn
	for _, ev := range evsOut {
		if ev.Kind == data.EventSLOBurn {
			burn = ev.Payload.(*data.SLOBurn)
		}
	}
	if burn == nil || burn.Severity != data.SLOFastBurn || burn.Long != time.Hour || burn.Short != 5*time.Minute || burn.Factor != 14.4 {
		t.Fatalf("burn event %+v", burn)
	}
	figs, _ := s.SLOFigures(ctx)
	if len(figs) != 1 || figs[0].Alert != data.SLOFastBurn || figs[0].Total != 65000 || figs[0].Good != 64000 || figs[0].Stale {
		t.Fatalf("figures %+v", figs)
	}

	// Seven hours of good traffic later, both fast rules and the slow
	// rule's 6h window are clean: recovered.
	for h := 0; h < 7; h++ {
		clk.Add(time.Hour)
		evs = evs[:0]
		for i := 59; i >= 0; i-- {
			evs = append(evs, slo.Event{Time: clk.Now().Add(-time.Duration(i) * time.Minute), Good: 1000, Total: 1000})
		}
		if err := e.Push(ctx, "checkout-availability", evs); err != nil {
			t.Fatal(err)
		}
		st, why := statusOf(t, s, "cart")
		switch {
		case h < 5 && st == data.Operational:
			t.Fatalf("after %dh: recovered while the 6h window holds the burst", h+1)
		case h == 6 && st != data.Operational:
			t.Fatalf("after 7h: %s %q; want operational", st, why)
		}
	}
	evsOut, _ = s.Events(ctx, pos, 1000)
	var kinds []string
	for _, ev := range evsOut {
		if strings.HasPrefix(string(ev.Kind), "slo.") {
			kinds = append(kinds, string(ev.Kind)+":"+ev.Payload.(*data.SLOBurn).Severity)
		}
	}
	// Fast, then slow once only the 3d/6h rule fires, then recovered.
	if got := strings.Join(kinds, " "); got != "slo.burn:fast slo.burn:slow slo.recovered:" {
		t.Fatalf("SLO events: %s", got)
	}
}

// TestStaleKeepsStatus: a feed that falls silent makes the SLO stale with
// the time of its last data and changes no status; data coming back
// resumes evaluation.
func TestStaleKeepsStatus(t *testing.T) {
	clk := &clock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	s := catalogStore(t, clk)
	e, _ := slo.New(s, []slo.SLO{checkoutSLO()}, slo.Options{Now: clk.Now})
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	figs, _ := s.SLOFigures(ctx)
	if !figs[0].Stale || !figs[0].LastDataAt.IsZero() || figs[0].HasData {
		t.Fatalf("an SLO without data yet: %+v", figs[0])
	}
	if err := e.Push(ctx, "checkout-availability", []slo.Event{{Time: clk.Now(), Good: 0, Total: 100}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := statusOf(t, s, "cart"); st != data.PartialOutage {
		t.Fatalf("status %s", st)
	}
	last := time.Date(2026, 6, 10, 12, 1, 0, 0, time.UTC) // the end of the minute pushed
	clk.Add(2 * time.Hour)                                // silence: the burst is out of the 1h and 5m windows
	if err := e.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	figs, _ = s.SLOFigures(ctx)
	if f := figs[0]; !f.Stale || !f.LastDataAt.Equal(last) || f.Alert != data.SLOFastBurn {
		t.Fatalf("silent feed: stale %v since %v, alert %q", f.Stale, f.LastDataAt, f.Alert)
	}
	if st, _ := statusOf(t, s, "cart"); st != data.PartialOutage {
		t.Fatalf("absence of data changed the status to %s", st)
	}
	// Data again: evaluated, and the 1h window is clean now.
	if err := e.Push(ctx, "checkout-availability", []slo.Event{{Time: clk.Now(), Good: 100, Total: 100}}); err != nil {
		t.Fatal(err)
	}
	figs, _ = s.SLOFigures(ctx)
	if figs[0].Stale {
		t.Fatal("still stale after data")
	}
	// The 3d/6h rule still sees the burst: slow burn, degraded.
	if st, _ := statusOf(t, s, "cart"); st != data.DegradedPerformance {
		t.Fatalf("after data returned: %s", st)
	}
}

// TestPushRefusesBadInput checks each refusal and that nothing of a refused
// batch is applied.
func TestPushRefusesBadInput(t *testing.T) {
	clk := &clock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	s := catalogStore(t, clk)
	e, _ := slo.New(s, []slo.SLO{checkoutSLO()}, slo.Options{Now: clk.Now})
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	good := slo.Event{Time: now.Add(-time.Minute), Good: 5, Total: 5}
	for _, tc := range []struct {
		name  string
		ev    slo.Event
		field string
	}{
		{"negative good", slo.Event{Time: now, Good: -1, Total: 5}, "events[1].good"},
		{"negative total", slo.Event{Time: now, Good: 0, Total: -5}, "events[1].total"},
		{"good > total", slo.Event{Time: now, Good: 6, Total: 5}, "events[1].good"},
		{"future", slo.Event{Time: now.Add(time.Hour), Good: 1, Total: 1}, "events[1].time"},
		{"before the windows", slo.Event{Time: now.Add(-29 * 24 * time.Hour), Good: 1, Total: 1}, "events[1].time"},
		{"too many in a minute", slo.Event{Time: now, Good: 0, Total: 1 << 32}, "events"},
	} {
		err := e.Push(ctx, "checkout-availability", []slo.Event{good, tc.ev})
		var inv *data.InvalidError
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("%s: %v; want invalid %s", tc.name, err, tc.field)
		}
	}
	if err := e.Push(ctx, "nope", []slo.Event{good}); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("unknown SLO: %v", err)
	}
	mins, _ := s.SLOMinutes(ctx, "checkout-availability", now.Add(-time.Hour), now.Add(time.Hour))
	if len(mins) != 0 {
		t.Fatalf("refused batches stored %+v", mins)
	}
	// The edge of the window is accepted: 28 days including this minute.
	if err := e.Push(ctx, "checkout-availability", []slo.Event{{Time: now.Truncate(time.Minute).Add(-28*24*time.Hour + time.Minute), Good: 1, Total: 1}}); err != nil {
		t.Fatalf("oldest minute of the window: %v", err)
	}
}

// TestRestartKeepsAlert: a new engine over the same store knows the alert in
// force and does not announce it again.
func TestRestartKeepsAlert(t *testing.T) {
	clk := &clock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	s := catalogStore(t, clk)
	e, _ := slo.New(s, []slo.SLO{checkoutSLO()}, slo.Options{Now: clk.Now})
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Push(ctx, "checkout-availability", []slo.Event{{Time: clk.Now(), Good: 0, Total: 100}}); err != nil {
		t.Fatal(err)
	}
	pos, _ := s.Register(ctx, "after-restart")
	clk.Add(time.Minute)
	e2, _ := slo.New(s, []slo.SLO{checkoutSLO()}, slo.Options{Now: clk.Now})
	if err := e2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, pending, _ := s.Cursor(ctx, "after-restart"); pending != 0 {
		evs, _ := s.Events(ctx, pos, 10)
		t.Fatalf("restart announced %d events: %+v", pending, evs)
	}
	if f := e2.Figures()[0]; f.Alert != data.SLOFastBurn || f.Total != 100 {
		t.Fatalf("after restart: %+v", f)
	}
	// Removing the SLO from the configuration clears its inputs.
	e3, _ := slo.New(s, nil, slo.Options{Now: clk.Now})
	if err := e3.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := statusOf(t, s, "cart"); st != data.Operational {
		t.Fatalf("a removed SLO left %s", st)
	}
	if figs, _ := s.SLOFigures(ctx); len(figs) != 0 {
		t.Fatalf("a removed SLO left figures %+v", figs)
	}
}

func TestMetrics(t *testing.T) {
	clk := &clock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	s := catalogStore(t, clk)
	e, _ := slo.New(s, []slo.SLO{checkoutSLO()}, slo.Options{Now: clk.Now})
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Push(ctx, "checkout-availability", []slo.Event{{Time: clk.Now(), Good: 990, Total: 1000}}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	want := `
# HELP statusd_slo_burn_rate Error budget burn rate over an alert window: 1 spends the budget exactly over the compliance window (absent for a window without events).
# TYPE statusd_slo_burn_rate gauge
statusd_slo_burn_rate{slo="checkout-availability",window="1h"} 10
statusd_slo_burn_rate{slo="checkout-availability",window="30m"} 10
statusd_slo_burn_rate{slo="checkout-availability",window="3d"} 10
statusd_slo_burn_rate{slo="checkout-availability",window="5m"} 10
statusd_slo_burn_rate{slo="checkout-availability",window="6h"} 10
# HELP statusd_slo_sli Share of good events over the SLO's compliance window (absent without events).
# TYPE statusd_slo_sli gauge
statusd_slo_sli{journey="checkout",slo="checkout-availability"} 0.99
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "statusd_slo_sli", "statusd_slo_burn_rate"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "statusd_slo_error_budget_remaining_ratio", "statusd_slo_stale", "statusd_slo_alert"); err != nil || n != 4 {
		t.Fatalf("%d series, %v", n, err)
	}
}
