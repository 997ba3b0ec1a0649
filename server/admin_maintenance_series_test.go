package server

import (
	"context"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

// TestSeriesAcrossDST expands "every Sunday 04:00–05:00 Europe/Berlin"
// across the change to summer time: the windows stay at 04:00 local, so
// their UTC start moves from 03:00 to 02:00.
func TestSeriesAcrossDST(t *testing.T) {
	berlin := mustLoadLocation("Europe/Berlin")
	m := data.MaintenanceSeries{RRule: "FREQ=WEEKLY;BYDAY=SU", TimeZone: "Europe/Berlin",
		FirstStart: time.Date(2026, 3, 15, 4, 0, 0, 0, berlin), Duration: time.Hour}
	starts, err := SeriesStarts(m, time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{
		time.Date(2026, 3, 15, 3, 0, 0, 0, time.UTC), // CET, UTC+1
		time.Date(2026, 3, 22, 3, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 2, 0, 0, 0, time.UTC), // CEST from that night, UTC+2
		time.Date(2026, 4, 5, 2, 0, 0, 0, time.UTC),
	}
	if len(starts) != len(want) {
		t.Fatalf("starts = %v; want %v", starts, want)
	}
	for i := range want {
		if !starts[i].Equal(want[i]) || starts[i].In(berlin).Hour() != 4 {
			t.Errorf("start %d = %v (%v local); want %v", i, starts[i], starts[i].In(berlin), want[i])
		}
	}
	if _, err := SeriesStarts(data.MaintenanceSeries{RRule: "FREQ=SOMETIMES", TimeZone: "Europe/Berlin", FirstStart: m.FirstStart}, m.FirstStart, m.FirstStart.Add(time.Hour)); err == nil {
		t.Error("a bad rule expanded")
	}
}

// TestSeriesAPI creates a recurring window through the API: its windows for
// the next 30 days are scheduled once, however often expansion runs.
func TestSeriesAPI(t *testing.T) {
	h := newAdminHarness(t)
	tok := h.token("cara@example.com", data.ScopeMaintenanceWrite)
	var created apiSeriesJSON
	res := h.api(tok, "POST", "/api/admin/maintenance-series", apiSeriesCreate{Name: "Weekly database maintenance", RRule: "FREQ=WEEKLY;BYDAY=SU",
		TimeZone: "Europe/Berlin", FirstStart: "2026-11-29T02:00", Duration: "1h", Components: []string{"payments"}, Body: "Weekly **vacuum**."}, &created)
	if res.StatusCode != 201 || len(created.Next) == 0 {
		t.Fatalf("create series: %d %+v", res.StatusCode, created)
	}
	list, err := h.store.Incidents(context.Background(), data.IncidentFilter{Kind: data.KindMaintenance})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 { // 29 Nov, 6, 13, 20 Dec within 30 days of 24 Nov
		t.Errorf("%d windows scheduled; want 4", len(list))
	}
	if n, err := ExpandMaintenanceSeries(context.Background(), h.store, h.now); err != nil || n != 0 {
		t.Errorf("second expansion made %d, %v", n, err)
	}
	if code, e := apiStatus(t, h.api(tok, "POST", "/api/admin/maintenance-series", apiSeriesCreate{Name: "x", RRule: "FREQ=NEVER",
		TimeZone: "Europe/Berlin", FirstStart: "2026-11-29T02:00", Duration: "1h", Body: "x"}, nil)); code != 400 || e.Field != "rrule" {
		t.Errorf("bad rule: %d %q", code, e.Field)
	}
	if code, e := apiStatus(t, h.api(tok, "POST", "/api/admin/maintenance-series", apiSeriesCreate{Name: "x", RRule: "FREQ=WEEKLY",
		TimeZone: "Mars/Olympus", FirstStart: "2026-11-29T02:00", Duration: "1h", Body: "x"}, nil)); code != 400 || e.Field != "time_zone" {
		t.Errorf("bad zone: %d %q", code, e.Field)
	}
}
