package data_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

// TestMaintenanceAdvancesOnItsClock runs automatic windows on a fake clock
// across a restart: a window that started while statusd was down is in
// progress when it comes back, and completes at its end.
func TestMaintenanceAdvancesOnItsClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "statusd.db")
	t0 := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // the night Europe moves to summer time
	clock := t0
	open := func() *data.Store {
		s, err := data.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return clock }
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	auto, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Database upgrade", Body: "Planned.", AutoTransition: true,
		ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(3 * time.Hour), ComponentIDs: []string{"payments"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	manual, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Manual window", Body: "Planned.",
		ScheduledFor: t0.Add(time.Hour), ScheduledUntil: t0.Add(2 * time.Hour), ComponentIDs: []string{"auth-api"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	missed, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Short window", Body: "Planned.", AutoTransition: true,
		ScheduledFor: t0.Add(70 * time.Minute), ScheduledUntil: t0.Add(80 * time.Minute), ComponentIDs: []string{"sso-google"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if next, err := s.NextMaintenanceTransition(ctx); err != nil || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("next transition = %v, %v; want %v", next, err, t0.Add(time.Hour))
	}
	if n, err := s.AdvanceMaintenance(ctx); err != nil || n != 0 {
		t.Fatalf("advance before start = %d, %v", n, err)
	}
	s.Close()

	// statusd is down from 00:30 to 02:00; the windows began meanwhile.
	clock = t0.Add(90 * time.Minute)
	s = open()
	defer s.Close()
	n, err := s.AdvanceMaintenance(ctx)
	if err != nil || n != 3 {
		t.Fatalf("advance after restart = %d, %v; want 3 moves (start auto, start and complete short)", n, err)
	}
	status := func(id string) data.IncidentStatus {
		in, err := s.Incident(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return in.Status
	}
	if got := status(auto.ID); got != data.InProgress {
		t.Errorf("auto window after restart: %s; want in_progress", got)
	}
	if got := status(missed.ID); got != data.Completed {
		t.Errorf("window that ended while down: %s; want completed", got)
	}
	if got := status(manual.ID); got != data.Scheduled {
		t.Errorf("manual window moved on its own: %s", got)
	}
	if st, src, why := statusOf(t, s, "payments"); st != data.UnderMaintenance || src != data.SourceMaintenance || why != `maintenance "Database upgrade" started` {
		t.Errorf("payments = %s by %s (%q)", st, src, why)
	}
	if st, _, _ := statusOf(t, s, "sso-google"); st != data.Operational {
		t.Errorf("sso-google after its window = %s", st)
	}
	// Calling again changes nothing.
	if n, err := s.AdvanceMaintenance(ctx); err != nil || n != 0 {
		t.Errorf("second advance = %d, %v", n, err)
	}
	clock = t0.Add(3 * time.Hour)
	if n, err := s.AdvanceMaintenance(ctx); err != nil || n != 1 {
		t.Fatalf("advance at end = %d, %v", n, err)
	}
	if got := status(auto.ID); got != data.Completed {
		t.Errorf("auto window at its end: %s", got)
	}
	if st, _, _ := statusOf(t, s, "payments"); st != data.Operational {
		t.Errorf("payments after the window = %s", st)
	}
	ev, _ := s.Events(ctx, 0, 1000)
	kinds := map[data.EventKind]int{}
	for _, e := range ev {
		kinds[e.Kind]++
		if p, ok := e.Payload.(*data.IncidentChanged); ok && e.Kind == data.EventMaintenanceStarted && p.IncidentID == auto.ID {
			if p.Actor != "statusd" || len(p.Components) != 1 || p.Components[0].NewStatus != data.UnderMaintenance || !p.ScheduledFor.Equal(t0.Add(time.Hour)) {
				t.Errorf("started event = %+v", p)
			}
		}
	}
	if kinds[data.EventMaintenanceScheduled] != 3 || kinds[data.EventMaintenanceStarted] != 2 || kinds[data.EventMaintenanceCompleted] != 2 {
		t.Errorf("event kinds = %v", kinds)
	}
	if next, _ := s.NextMaintenanceTransition(ctx); !next.IsZero() {
		t.Errorf("next transition after all done = %v", next)
	}
}

// TestMaintenanceRunLoop runs the scheduler loop on the real clock with a
// window a moment away, and sees it start and complete on its own.
func TestMaintenanceRunLoop(t *testing.T) {
	s := openCatalog(t)
	start := time.Now().Add(300 * time.Millisecond)
	mt, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Blip", Body: "Planned.", AutoTransition: true,
		ScheduledFor: start, ScheduledUntil: start.Add(300 * time.Millisecond), ComponentIDs: []string{"payments"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { defer close(done); s.RunMaintenance(rctx, time.Minute, func(err error) { t.Error(err) }) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		in, err := s.Incident(ctx, mt.ID)
		if err != nil {
			t.Fatal(err)
		}
		if in.Status == data.Completed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("window still %s long after its end", in.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	hist, _ := s.History(ctx, "payments", 10)
	if len(hist) < 3 || hist[1].NewStatus != data.UnderMaintenance || hist[0].NewStatus != data.Operational {
		t.Errorf("history = %+v", hist)
	}
}
