package data_test

import (
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

// staffAlerts returns the staff alert events written so far, by kind.
func staffAlerts(t *testing.T, s *data.Store) map[data.EventKind][]*data.StaffAlert {
	t.Helper()
	evs, err := s.Events(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[data.EventKind][]*data.StaffAlert{}
	for _, e := range evs {
		if a, ok := e.Payload.(*data.StaffAlert); ok {
			out[e.Kind] = append(out[e.Kind], a)
		}
	}
	return out
}

// TestStaffAlertOverdue: an open incident whose promised next update has
// passed alerts the staff once per promise; a new promise that passes
// alerts again; an update in time, a resolved incident or no promise
// alert nobody.
func TestStaffAlertOverdue(t *testing.T) {
	s := draftStore(t)
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clock := t0
	s.Now = func() time.Time { return clock }
	publish := func(in data.DraftInput) data.Published {
		t.Helper()
		in.Actor = "cara@example.com"
		d, err := s.CreateDraft(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.PublishDraft(ctx, d.ID, "cara@example.com", data.RenderedBody{Text: in.Body, HTML: "<p>" + in.Body + "</p>"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	send := func(want int) {
		t.Helper()
		n, err := s.SendStaffAlerts(ctx)
		if err != nil || n != want {
			t.Fatalf("at %s: sent %d, %v; want %d", clock.Sub(t0), n, err, want)
		}
	}
	p := publish(data.DraftInput{Name: "Card payments failing", Body: "Looking into it.", Notify: true,
		Components: map[string]data.ComponentStatus{"payments": data.MajorOutage}, NextUpdateBy: t0.Add(30 * time.Minute)})
	// Another incident that promises nothing, and one resolved in time.
	publish(data.DraftInput{Name: "Slow search", Body: "Looking.", Components: map[string]data.ComponentStatus{"auth-api": data.DegradedPerformance}})
	q := publish(data.DraftInput{Name: "Login errors", Body: "Looking.", NextUpdateBy: t0.Add(20 * time.Minute),
		Components: map[string]data.ComponentStatus{"auth-api": data.PartialOutage}})
	clock = t0.Add(10 * time.Minute)
	publish(data.DraftInput{IncidentID: q.Incident.ID, Status: data.Resolved, Body: "Fixed."})

	clock = t0.Add(29 * time.Minute)
	send(0)
	clock = t0.Add(30 * time.Minute)
	send(1)
	send(0)
	clock = t0.Add(45 * time.Minute)
	send(0)
	// An update with a new promise: alerted again only once it passes.
	publish(data.DraftInput{IncidentID: p.Incident.ID, Status: data.Identified, Body: "Found it.", NextUpdateBy: t0.Add(time.Hour)})
	send(0)
	clock = t0.Add(61 * time.Minute)
	send(1)
	// An update without a promise clears it: nothing more.
	publish(data.DraftInput{IncidentID: p.Incident.ID, Status: data.Monitoring, Body: "Fix deployed."})
	clock = t0.Add(3 * time.Hour)
	send(0)

	got := staffAlerts(t, s)[data.EventUpdateOverdue]
	if len(got) != 2 {
		t.Fatalf("%d overdue alerts; want 2", len(got))
	}
	a := got[0]
	if a.IncidentID != p.Incident.ID || a.Name != "Card payments failing" || !a.Due.Equal(t0.Add(30*time.Minute)) ||
		a.Status != data.Investigating || !a.At.Equal(t0.Add(30*time.Minute)) || !a.LastUpdateAt.Equal(t0) {
		t.Errorf("first alert = %+v", a)
	}
	if len(a.Components) != 1 || a.Components[0].ComponentID != "payments" || a.Components[0].NewStatus != data.MajorOutage {
		t.Errorf("first alert's components = %+v", a.Components)
	}
	if b := got[1]; !b.Due.Equal(t0.Add(time.Hour)) || b.Status != data.Identified {
		t.Errorf("second alert = %+v", b)
	}
}

// TestStaffAlertDraftWaiting: a draft proposed by detection alerts the
// staff once; a person's own draft, or a proposed one discarded before the
// check, alerts nobody.
func TestStaffAlertDraftWaiting(t *testing.T) {
	s := draftStore(t)
	_, err := s.CreateDraft(ctx, data.DraftInput{Name: "Something odd", Body: "Checking.", Actor: "cara@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.CreateDraft(ctx, data.DraftInput{Name: "Outage: sign-in", Body: "Detected.", ProposedBy: "statusd", JourneyID: "sign-in",
		Components: map[string]data.ComponentStatus{"auth-api": data.PartialOutage}, Actor: "statusd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DiscardDraft(ctx, gone.ID, "cara@example.com"); err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateDraft(ctx, data.DraftInput{Name: "Outage: checkout", Body: "Detected.", ProposedBy: "statusd", JourneyID: "checkout",
		Components: map[string]data.ComponentStatus{"payments": data.MajorOutage}, Actor: "statusd"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 0} {
		if n, err := s.SendStaffAlerts(ctx); err != nil || n != want {
			t.Fatalf("round %d: sent %d, %v; want %d", i, n, err, want)
		}
	}
	got := staffAlerts(t, s)[data.EventDraftWaiting]
	if len(got) != 1 {
		t.Fatalf("%d draft alerts; want 1", len(got))
	}
	a := got[0]
	if a.DraftID != d.ID || a.Name != "Outage: checkout" || a.ProposedBy != "statusd" || a.JourneyID != "checkout" || a.JourneyName == "" {
		t.Errorf("alert = %+v", a)
	}
	if len(a.Components) != 1 || a.Components[0].ComponentID != "payments" || a.Components[0].Declared != data.MajorOutage ||
		a.Components[0].NewStatus != data.Operational || a.Components[0].Name == "" {
		t.Errorf("alert's components = %+v", a.Components)
	}
}

// TestStaffAlertMaintenance: a window that starts and ends by hand alerts
// the staff once when its start passes unstarted, and once when its end
// passes uncompleted; a window with automatic transitions never does.
func TestStaffAlertMaintenance(t *testing.T) {
	s := draftStore(t)
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clock := t0
	s.Now = func() time.Time { return clock }
	manual, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Database upgrade", Body: "Planned.", ScheduledFor: t0.Add(time.Hour),
		ScheduledUntil: t0.Add(2 * time.Hour), ComponentIDs: []string{"payments"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Cache flush", Body: "Planned.", ScheduledFor: t0.Add(time.Hour),
		ScheduledUntil: t0.Add(2 * time.Hour), ComponentIDs: []string{"auth-api"}, AutoTransition: true, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	send := func(at time.Duration, want int) {
		t.Helper()
		clock = t0.Add(at)
		if n, err := s.SendStaffAlerts(ctx); err != nil || n != want {
			t.Fatalf("at +%s: sent %d, %v; want %d", at, n, err, want)
		}
	}
	send(59*time.Minute, 0)
	send(61*time.Minute, 1) // late to start
	send(70*time.Minute, 0)
	clock = t0.Add(75 * time.Minute)
	if _, err := s.AddUpdate(ctx, manual.ID, data.NewUpdate{Status: data.InProgress, Body: "Started.", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	send(119*time.Minute, 0)
	send(2*time.Hour, 1) // overrunning
	send(3*time.Hour, 0)
	clock = t0.Add(3 * time.Hour)
	if _, err := s.AddUpdate(ctx, manual.ID, data.NewUpdate{Status: data.Completed, Body: "Done.", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	send(4*time.Hour, 0)

	got := staffAlerts(t, s)
	late, over := got[data.EventMaintenanceLate], got[data.EventMaintenanceOverrun]
	if len(late) != 1 || late[0].IncidentID != manual.ID || !late[0].Due.Equal(t0.Add(time.Hour)) || late[0].Status != data.Scheduled ||
		len(late[0].Components) != 1 || late[0].Components[0].ComponentID != "payments" {
		t.Errorf("late alerts = %+v", late)
	}
	if len(over) != 1 || over[0].IncidentID != manual.ID || !over[0].Due.Equal(t0.Add(2*time.Hour)) || over[0].Status != data.InProgress {
		t.Errorf("overrun alerts = %+v", over)
	}
}
