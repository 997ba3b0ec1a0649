package data

import (
	"math/rand/v2"
	"testing"
	"time"
)

// naiveDailyUptime is the obvious per-day, per-change computation that
// dailyUptime's single sweep must agree with.
func naiveDailyUptime(changes []span, start time.Time, days int, loc *time.Location, now time.Time) []DayUptime {
	out := make([]DayUptime, days)
	y, m, d := start.In(loc).Date()
	for i := range out {
		ds, de := time.Date(y, m, d+i, 0, 0, 0, 0, loc), time.Date(y, m, d+i+1, 0, 0, 0, 0, loc)
		out[i] = DayUptime{Date: ds, Worst: Operational}
		for k, c := range changes {
			from, to := c.at, now
			if k+1 < len(changes) {
				to = changes[k+1].at
			}
			if from.Before(ds) {
				from = ds
			}
			if to.After(de) {
				to = de
			}
			if to.After(from) {
				addSpan(&out[i], c.status, to.Sub(from))
			}
		}
		if out[i].Known > 0 {
			out[i].HasData = true
			out[i].Uptime = 1 - (float64(out[i].Major)+PartialOutageWeight*float64(out[i].Partial))/float64(out[i].Known)
		}
	}
	return out
}

func TestDailyUptimeMatchesNaive(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		days := 1 + r.IntN(40)
		start := time.Date(2026, 3, 1+r.IntN(20), 0, 0, 0, 0, loc) // spans the March DST change
		now := start.AddDate(0, 0, days-1).Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
		at := start.Add(-time.Duration(r.Int64N(int64(72 * time.Hour))))
		var changes []span
		for n := r.IntN(30); n > 0; n-- {
			changes = append(changes, span{status: ComponentStatuses[r.IntN(len(ComponentStatuses))], at: at})
			at = at.Add(time.Duration(r.Int64N(int64(days) * int64(6*time.Hour))))
			if at.After(now) {
				break
			}
		}
		got := dailyUptime(changes, start, days, loc, now)
		want := naiveDailyUptime(changes, start, days, loc, now)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("trial %d day %d: sweep %+v; naive %+v", trial, i, got[i], want[i])
			}
		}
	}
}
