package data_test

import (
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// TestSnapshotUptime drives a fixed clock through a component's life and
// checks the daily bars: no data before it existed, weights for partial and
// major outages, and the worst status of each day.
func TestSnapshotUptime(t *testing.T) {
	s := datatest.MustOpen(t)
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, loc)
	clock := now.AddDate(0, 0, -3).Add(-12 * time.Hour) // 7 Mar 00:00
	s.Now = func() time.Time { return clock }
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	set := func(at time.Time, st data.ComponentStatus) {
		clock = at
		if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "auth-api", Status: st, Actor: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	day8 := time.Date(2026, 3, 8, 0, 0, 0, 0, loc)
	set(day8.Add(6*time.Hour), data.MajorOutage) // 6 h of major outage on 8 Mar
	set(day8.Add(12*time.Hour), data.Operational)
	set(day8.Add(24*time.Hour), data.PartialOutage) // all of 9 Mar partial
	set(day8.Add(48*time.Hour), data.Operational)
	clock = now
	snap, err := s.Snapshot(ctx, data.SnapshotOptions{Days: 5, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	days := snap.Uptime["auth-api"]
	if len(days) != 5 {
		t.Fatalf("got %d days; want 5", len(days))
	}
	type want struct {
		date    string
		hasData bool
		uptime  float64
		worst   data.ComponentStatus
	}
	wants := []want{
		{"2026-03-06", false, 0, data.Operational},
		{"2026-03-07", true, 1, data.Operational},
		{"2026-03-08", true, 0.75, data.MajorOutage},
		{"2026-03-09", true, 1 - data.PartialOutageWeight, data.PartialOutage},
		{"2026-03-10", true, 1, data.Operational},
	}
	for i, w := range wants {
		d := days[i]
		if got := d.Date.Format("2006-01-02"); got != w.date || d.HasData != w.hasData || d.Worst != w.worst ||
			(w.hasData && (d.Uptime < w.uptime-1e-9 || d.Uptime > w.uptime+1e-9)) {
			t.Errorf("day %d = %s hasData=%v uptime=%v worst=%s; want %+v", i, got, d.HasData, d.Uptime, d.Worst, w)
		}
	}
	if days[4].Known != 12*time.Hour {
		t.Errorf("today known = %v; want 12h (up to now)", days[4].Known)
	}
	if days[2].Major != 6*time.Hour {
		t.Errorf("8 Mar major = %v; want 6h", days[2].Major)
	}
}

func TestRollup(t *testing.T) {
	tests := []struct {
		name     string
		statuses []data.ComponentStatus
		impacts  []data.Impact
		want     data.PageStatus
	}{
		{"all fine", []data.ComponentStatus{data.Operational, data.Operational}, nil, data.PageStatus{Indicator: "none", Description: "All Systems Operational"}},
		{"degraded", []data.ComponentStatus{data.Operational, data.DegradedPerformance}, nil, data.PageStatus{Indicator: "minor", Description: "Partially Degraded Service"}},
		{"partial", []data.ComponentStatus{data.PartialOutage, data.DegradedPerformance}, nil, data.PageStatus{Indicator: "minor", Description: "Minor Service Outage"}},
		{"some major", []data.ComponentStatus{data.MajorOutage, data.Operational}, nil, data.PageStatus{Indicator: "major", Description: "Partial System Outage"}},
		{"all major", []data.ComponentStatus{data.MajorOutage, data.MajorOutage}, nil, data.PageStatus{Indicator: "critical", Description: "Major Service Outage"}},
		{"maintenance", []data.ComponentStatus{data.UnderMaintenance, data.Operational}, nil, data.PageStatus{Indicator: "maintenance", Description: "Service Under Maintenance"}},
		{"incident raises", []data.ComponentStatus{data.Operational}, []data.Impact{data.ImpactMajor}, data.PageStatus{Indicator: "major", Description: "Partial System Outage"}},
		{"incident lower keeps", []data.ComponentStatus{data.MajorOutage, data.Operational}, []data.Impact{data.ImpactMinor}, data.PageStatus{Indicator: "major", Description: "Partial System Outage"}},
		{"none impact", []data.ComponentStatus{data.Operational}, []data.Impact{data.ImpactNone}, data.PageStatus{Indicator: "none", Description: "All Systems Operational"}},
		{"empty", nil, nil, data.PageStatus{Indicator: "none", Description: "All Systems Operational"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := data.Rollup(tt.statuses, tt.impacts); got != tt.want {
				t.Errorf("Rollup = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func FuzzValidateText(f *testing.F) {
	for _, s := range []string{"Sign in", "<script>", "\x00", "مرحبا", "🙂", "a\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := data.ValidateText("name", s, 200, true, false)
		if err == nil {
			for _, r := range s {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("accepted control character in %q", s)
				}
			}
		}
	})
}
