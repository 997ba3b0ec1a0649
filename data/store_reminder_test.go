package data_test

import (
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

// TestMaintenanceReminders sends reminders 24 h and 1 h before a window on
// a fake clock: each exactly once, at its time; a window announced 2 h
// ahead gets only the 1 h reminder.
func TestMaintenanceReminders(t *testing.T) {
	s := draftStore(t)
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clock := t0
	s.Now = func() time.Time { return clock }
	m, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Database upgrade", Body: "Planned.", ScheduledFor: t0.Add(48 * time.Hour),
		ScheduledUntil: t0.Add(50 * time.Hour), ComponentIDs: []string{"payments"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	late, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Quick fix", Body: "Planned.", ScheduledFor: t0.Add(2 * time.Hour),
		ScheduledUntil: t0.Add(3 * time.Hour), ComponentIDs: []string{"auth-api"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	offsets := []time.Duration{24 * time.Hour, time.Hour}
	reminders := func() map[string][]time.Duration {
		evs, err := s.Events(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]time.Duration{}
		for _, e := range evs {
			if e.Kind == data.EventMaintenanceReminder {
				ic := e.Payload.(*data.IncidentChanged)
				out[ic.IncidentID] = append(out[ic.IncidentID], ic.Reminder)
			}
		}
		return out
	}
	for _, step := range []struct {
		at   time.Duration
		want int
	}{
		{0, 0}, {59 * time.Minute, 0}, {time.Hour, 1}, {time.Hour + time.Minute, 0}, {24*time.Hour - time.Second, 0},
		{24 * time.Hour, 1}, {24 * time.Hour, 0}, {47 * time.Hour, 1}, {47*time.Hour + 30*time.Minute, 0}, {49 * time.Hour, 0},
	} {
		clock = t0.Add(step.at)
		if step.at == 49*time.Hour {
			if _, err := s.AdvanceMaintenance(ctx); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.SendMaintenanceReminders(ctx, offsets)
		if err != nil || n != step.want {
			t.Fatalf("at +%s: sent %d, %v; want %d", step.at, n, err, step.want)
		}
	}
	got := reminders()
	if r := got[m.ID]; len(r) != 2 || r[0] != 24*time.Hour || r[1] != time.Hour {
		t.Errorf("reminders of the planned window = %v; want [24h 1h]", r)
	}
	if r := got[late.ID]; len(r) != 1 || r[0] != time.Hour {
		t.Errorf("reminders of the late window = %v; want [1h]", r)
	}
}
