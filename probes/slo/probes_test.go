package slo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/probes/slo"
)

// fakeResults is a MinuteSource the test fills: per-minute good and total
// runs, summed over the asked components, and a switch to fail.
type fakeResults struct {
	mu     sync.Mutex
	runs   map[string]map[time.Time][2]int64 // component → minute → good, total
	fail   bool
	ranges [][2]time.Time
}

func (f *fakeResults) put(comp string, at time.Time, good, total int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runs[comp] == nil {
		f.runs[comp] = map[time.Time][2]int64{}
	}
	f.runs[comp][at.Truncate(time.Minute)] = [2]int64{good, total}
}

func (f *fakeResults) Minutes(_ context.Context, comps []string, from, to time.Time) ([]data.SLOMinute, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges = append(f.ranges, [2]time.Time{from, to})
	if f.fail {
		return nil, errors.New("probe results unavailable")
	}
	var out []data.SLOMinute
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		var g, t int64
		for _, c := range comps {
			r := f.runs[c][m]
			g, t = g+r[0], t+r[1]
		}
		if t > 0 {
			out = append(out, data.SLOMinute{Start: m, Good: g, Total: t})
		}
	}
	return out, nil
}

// TestProbeFeed: the engine backfills the window from probe results in
// chunks, keeps reading new minutes, turns stale while they cannot be read
// (status untouched), and reads the gap once they can.
func TestProbeFeed(t *testing.T) {
	clk := &clock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	s := catalogStore(t, clk)
	res := &fakeResults{runs: map[string]map[time.Time][2]int64{}}
	now := clk.Now().Truncate(time.Minute)
	// Twenty days ago and the last hour: both within the 28-day window.
	res.put("cart", now.Add(-20*24*time.Hour), 3, 4)
	for i := 1; i <= 60; i++ {
		res.put("cart", now.Add(-time.Duration(i)*time.Minute), 2, 2)
		res.put("payments", now.Add(-time.Duration(i)*time.Minute), 2, 2)
		res.put("search-api", now.Add(-time.Duration(i)*time.Minute), 0, 2) // not this SLO's
	}
	def := checkoutSLO()
	def.Source = &slo.Probes{Results: res, Components: []string{"cart", "payments"}}
	def.Poll = 10 * time.Millisecond
	e, err := slo.New(s, []slo.SLO{def}, slo.Options{Now: clk.Now, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(ctx) })
	waitFor(t, "the backfill", func() bool { return e.Figures()[0].Total == 244 })
	if f := e.Figures()[0]; f.Good != 243 || f.Stale {
		t.Fatalf("after backfill %+v", f)
	}
	res.mu.Lock()
	chunks := len(res.ranges)
	first := res.ranges[0]
	res.mu.Unlock()
	if chunks < 5 || !first[0].Equal(now.Add(-28*24*time.Hour+time.Minute)) || first[1].Sub(first[0]) != 10000*time.Minute {
		t.Fatalf("backfill read %d ranges, first %v", chunks, first)
	}

	// The results cannot be read for 15 minutes: stale, nothing changes.
	res.mu.Lock()
	res.fail = true
	res.mu.Unlock()
	clk.Add(15 * time.Minute)
	waitFor(t, "stale", func() bool { _ = e.Tick(ctx); return e.Figures()[0].Stale })
	if st, _ := statusOf(t, s, "cart"); st != data.Operational {
		t.Fatalf("status %s", st)
	}
	// Back, with results in the gap: read from where it stopped.
	for i := 1; i <= 15; i++ {
		res.put("payments", clk.Now().Truncate(time.Minute).Add(-time.Duration(i)*time.Minute), 1, 1)
	}
	res.mu.Lock()
	res.fail = false
	res.mu.Unlock()
	waitFor(t, "the gap", func() bool { return e.Figures()[0].Total == 259 && !e.Figures()[0].Stale })
}

// TestStoreResults reads SLO minutes from real probe results: two
// components' probes, summed by minute, maintenance runs left out.
func TestStoreResults(t *testing.T) {
	clk := &clock{t: time.Date(2026, 6, 10, 12, 0, 30, 0, time.UTC)}
	s := catalogStore(t, clk)
	t0 := time.Date(2026, 6, 10, 11, 0, 0, 0, time.UTC)
	var rs []data.ProbeResult
	add := func(probe, comp string, at time.Time, out data.ProbeOutcome, maint bool) {
		rs = append(rs, data.ProbeResult{ProbeID: probe, ComponentID: comp, Region: "local", At: at, Duration: time.Millisecond,
			Outcome: out, Reason: "x", Maintenance: maint})
	}
	add("cart-http", "cart", t0.Add(10*time.Second), data.ProbeUp, false)
	add("cart-http", "cart", t0.Add(40*time.Second), data.ProbeDown, false)
	add("pay-http", "payments", t0.Add(20*time.Second), data.ProbeDegraded, false)
	add("pay-http", "payments", t0.Add(time.Minute), data.ProbeDown, true)
	add("search-http", "search-api", t0.Add(5*time.Second), data.ProbeDown, false)
	if err := s.RecordProbeResults(ctx, rs, time.UTC); err != nil {
		t.Fatal(err)
	}
	got, err := slo.StoreResults{Store: s}.Minutes(ctx, []string{"cart", "payments"}, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Start.Equal(t0) || got[0].Good != 2 || got[0].Total != 3 {
		t.Fatalf("minutes %+v; want one minute of 2 good runs out of 3", got)
	}
}
