package data_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

var ctx = context.Background()

func catalog() data.Catalog {
	return data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "sign-in", Name: "Sign in", Components: []data.CatalogComponent{
			{ID: "auth-api", Name: "Authentication API", Showcase: true},
			{ID: "idp", Name: "Identity providers", Children: []data.CatalogComponent{
				{ID: "sso-google", Name: "Google", Showcase: true},
				{ID: "sso-github", Name: "GitHub", Showcase: true},
			}},
		}},
		{ID: "checkout", Name: "Checkout", Components: []data.CatalogComponent{
			{ID: "payments", Name: "Payments", Showcase: true},
		}},
	}}
}

func TestMigrateTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := data.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 {
		t.Fatal("first Migrate applied nothing")
	}
	second, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 0 {
		t.Errorf("second Migrate applied %v; want nothing", second)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening the file finds the migrations recorded.
	s, err = data.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	third, err := s.Migrate(ctx)
	if err != nil || len(third) != 0 {
		t.Errorf("Migrate after reopen = %v, %v; want nothing, nil", third, err)
	}
	all, err := s.Migrations(ctx)
	if err != nil || len(all) != len(first) {
		t.Errorf("Migrations() = %v, %v; want %v", all, err, first)
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:"} {
		_, err := data.Open(ctx, p)
		var inv *data.InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("Open(%q) error = %v; want *InvalidError", p, err)
		}
	}
}

func TestSyncCatalogIdempotent(t *testing.T) {
	s := datatest.MustOpen(t)
	res, err := s.SyncCatalog(ctx, catalog(), "config")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 7 { // 2 journeys + 5 components
		t.Errorf("first sync added %v; want 7 ids", res.Added)
	}
	events, _ := s.Events(ctx, 0, 100)
	res, err = s.SyncCatalog(ctx, catalog(), "config")
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() {
		t.Errorf("second sync changed %+v; want nothing", res)
	}
	events2, _ := s.Events(ctx, 0, 100)
	if len(events2) != len(events) {
		t.Errorf("second sync wrote %d events; want none", len(events2)-len(events))
	}
	snap, err := s.Snapshot(ctx, data.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range snap.Components {
		ids = append(ids, c.ID)
	}
	want := []string{"auth-api", "idp", "sso-google", "sso-github", "payments"}
	if len(ids) != len(want) {
		t.Fatalf("components = %v; want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("components = %v; want %v", ids, want)
		}
	}
	if snap.Components[2].GroupID != "idp" || !snap.Components[1].IsGroup {
		t.Errorf("group not recorded: %+v", snap.Components[1:3])
	}
}

func TestSyncArchivesNeverDeletes(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: data.MajorOutage, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	smaller := catalog()
	smaller.Journeys = smaller.Journeys[:1] // checkout and payments leave the config
	res, err := s.SyncCatalog(ctx, smaller, "config")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Archived) != 2 {
		t.Errorf("archived %v; want journey:checkout and component:payments", res.Archived)
	}
	snap, err := s.Snapshot(ctx, data.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range snap.Components {
		if c.ID == "payments" {
			t.Error("archived component still shown")
		}
	}
	hist, err := s.History(ctx, "payments", 10)
	if err != nil || len(hist) != 2 {
		t.Fatalf("History(payments) = %v, %v; want 2 records kept", hist, err)
	}
	// Setting the status of an archived component is refused.
	_, err = s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: data.Operational, Actor: "ana"})
	if !errors.Is(err, data.ErrNotFound) {
		t.Errorf("SetComponentStatus(archived) error = %v; want ErrNotFound", err)
	}
	// It comes back with its history and status.
	res, err = s.SyncCatalog(ctx, catalog(), "config")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Restored) != 2 {
		t.Errorf("restored %v; want 2", res.Restored)
	}
	snap, _ = s.Snapshot(ctx, data.SnapshotOptions{})
	found := false
	for _, c := range snap.Components {
		if c.ID == "payments" {
			found = true
			if c.Status != data.MajorOutage {
				t.Errorf("restored status = %s; want major_outage", c.Status)
			}
		}
	}
	if !found {
		t.Error("restored component missing")
	}
}

func TestSyncCatalogInvalid(t *testing.T) {
	s := datatest.MustOpen(t)
	bad := []data.Catalog{
		{Journeys: []data.CatalogJourney{{ID: "Bad ID", Name: "x"}}},
		{Journeys: []data.CatalogJourney{{ID: "a", Name: "x"}, {ID: "a", Name: "y"}}},
		{Journeys: []data.CatalogJourney{{ID: "a", Name: ""}}},
		{Journeys: []data.CatalogJourney{{ID: "a", Name: "x", Components: []data.CatalogComponent{{ID: "c", Name: "c"}, {ID: "c", Name: "d"}}}}},
		{Journeys: []data.CatalogJourney{{ID: "a", Name: "x", Components: []data.CatalogComponent{{ID: "g", Name: "g", Children: []data.CatalogComponent{
			{ID: "h", Name: "h", Children: []data.CatalogComponent{{ID: "i", Name: "i"}}}}}}}}},
	}
	for i, c := range bad {
		_, err := s.SyncCatalog(ctx, c, "config")
		var inv *data.InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("case %d: SyncCatalog error = %v; want *InvalidError", i, err)
		}
	}
}

func TestSetComponentStatus(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	changes, stop := s.Subscribe()
	defer stop()
	changed, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "auth-api", Status: data.PartialOutage, Actor: "ana", Reason: "errors up"})
	if err != nil || !changed {
		t.Fatalf("SetComponentStatus = %v, %v; want true, nil", changed, err)
	}
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("no change signal after a committed change")
	}
	changed, err = s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "auth-api", Status: data.PartialOutage, Actor: "ana"})
	if err != nil || changed {
		t.Errorf("same status again = %v, %v; want false, nil", changed, err)
	}
	hist, _ := s.History(ctx, "auth-api", 10)
	if len(hist) != 2 || hist[0].OldStatus != data.Operational || hist[0].NewStatus != data.PartialOutage ||
		hist[0].Actor != "ana" || hist[0].Source != "override" || hist[0].Reason != "errors up" {
		t.Errorf("history = %+v", hist)
	}
	ev, _ := s.Events(ctx, 0, 100)
	if last := ev[len(ev)-1]; last.Kind != data.EventComponentStatusChanged || last.Subject != "auth-api" {
		t.Errorf("last event = %+v; want component.status for auth-api", last)
	}
	audit, _ := s.Audit(ctx, 1)
	if len(audit) != 1 || audit[0].Action != "component.input" {
		t.Errorf("audit = %+v", audit)
	}
	tests := []struct {
		name string
		req  data.SetStatus
		want error // nil means an *InvalidError
	}{
		{"group", data.SetStatus{ComponentID: "idp", Status: data.MajorOutage, Actor: "ana"}, nil},
		{"unknown component", data.SetStatus{ComponentID: "nope", Status: data.MajorOutage, Actor: "ana"}, data.ErrNotFound},
		{"bad status", data.SetStatus{ComponentID: "auth-api", Status: "down", Actor: "ana"}, nil},
		{"no actor", data.SetStatus{ComponentID: "auth-api", Status: data.MajorOutage}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetComponentStatus(ctx, tt.req)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("error = %v; want %v", err, tt.want)
				}
				return
			}
			var inv *data.InvalidError
			if !errors.As(err, &inv) {
				t.Errorf("error = %v; want *InvalidError", err)
			}
		})
	}
}

func TestIncidentLifecycle(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	in, err := s.CreateIncident(ctx, data.NewIncident{Name: "Logins fail", Impact: data.ImpactMajor, Body: "We are looking into it.",
		Components: map[string]data.ComponentStatus{"auth-api": data.MajorOutage}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != data.Investigating || len(in.Updates) != 1 || len(in.Updates[0].Affected) != 1 ||
		in.Updates[0].Affected[0].OldStatus != data.Operational || in.Updates[0].Affected[0].NewStatus != data.MajorOutage {
		t.Fatalf("created incident = %+v", in)
	}
	snap, _ := s.Snapshot(ctx, data.SnapshotOptions{})
	if snap.Components[0].Status != data.MajorOutage {
		t.Errorf("auth-api status = %s; want major_outage", snap.Components[0].Status)
	}
	in, err = s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Monitoring, Body: "A fix is out.", Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if in.MonitoringAt.IsZero() || len(in.Updates) != 2 || in.Updates[0].Status != data.Monitoring {
		t.Errorf("after monitoring update = %+v", in)
	}
	in, err = s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Resolved, Body: "Fixed.", Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if in.ResolvedAt.IsZero() || in.Open() {
		t.Errorf("after resolve = %+v", in)
	}
	snap, _ = s.Snapshot(ctx, data.SnapshotOptions{})
	if snap.Components[0].Status != data.Operational {
		t.Errorf("resolving did not return auth-api to operational: %s", snap.Components[0].Status)
	}
	if _, err := s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Postmortem, Body: "What happened.", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Investigating, Body: "again", Actor: "ana"})
	if !errors.Is(err, data.ErrConflict) {
		t.Errorf("postmortem → investigating error = %v; want ErrConflict", err)
	}
	_, err = s.AddUpdate(ctx, "nosuchincide", data.NewUpdate{Status: data.Resolved, Body: "x", Actor: "ana"})
	if !errors.Is(err, data.ErrNotFound) {
		t.Errorf("unknown incident error = %v; want ErrNotFound", err)
	}
	_, err = s.CreateIncident(ctx, data.NewIncident{Name: "x", Body: "y", Actor: "ana", Components: map[string]data.ComponentStatus{"ghost": data.MajorOutage}})
	var inv *data.InvalidError
	if !errors.As(err, &inv) {
		t.Errorf("unknown component error = %v; want *InvalidError", err)
	}
	// Nothing of the refused incident was kept.
	snap, _ = s.Snapshot(ctx, data.SnapshotOptions{})
	if len(snap.Incidents) != 1 {
		t.Errorf("incidents = %d; want 1 (the refused one rolled back)", len(snap.Incidents))
	}
}

func TestMaintenanceLifecycle(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour)
	mt, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "DB upgrade", Body: "Planned.", ScheduledFor: start,
		ScheduledUntil: start.Add(time.Hour), ComponentIDs: []string{"payments"}, Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if mt.Status != data.Scheduled || mt.Impact != data.ImpactMaintenance || mt.ScheduledFor.IsZero() {
		t.Fatalf("maintenance = %+v", mt)
	}
	status := func() data.ComponentStatus {
		snap, _ := s.Snapshot(ctx, data.SnapshotOptions{})
		for _, c := range snap.Components {
			if c.ID == "payments" {
				return c.Status
			}
		}
		return ""
	}
	if got := status(); got != data.Operational {
		t.Errorf("scheduled maintenance changed status to %s", got)
	}
	if _, err := s.AddUpdate(ctx, mt.ID, data.NewUpdate{Status: data.InProgress, Body: "Started.", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != data.UnderMaintenance {
		t.Errorf("in progress: status %s; want under_maintenance", got)
	}
	if _, err := s.AddUpdate(ctx, mt.ID, data.NewUpdate{Status: data.Completed, Body: "Done.", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != data.Operational {
		t.Errorf("completed: status %s; want operational", got)
	}
	_, err = s.AddUpdate(ctx, mt.ID, data.NewUpdate{Status: data.InProgress, Body: "again", Actor: "ana"})
	if !errors.Is(err, data.ErrConflict) {
		t.Errorf("completed → in_progress error = %v; want ErrConflict", err)
	}
	_, err = s.CreateMaintenance(ctx, data.NewMaintenance{Name: "x", Body: "y", ScheduledFor: start, ScheduledUntil: start, Actor: "ana"})
	var inv *data.InvalidError
	if !errors.As(err, &inv) || inv.Field != "scheduled_until" {
		t.Errorf("empty window error = %v; want invalid scheduled_until", err)
	}
}

func TestCanMove(t *testing.T) {
	tests := []struct {
		k        data.Kind
		from, to data.IncidentStatus
		want     bool
	}{
		{data.KindIncident, data.Investigating, data.Identified, true},
		{data.KindIncident, data.Monitoring, data.Investigating, true},
		{data.KindIncident, data.Investigating, data.Postmortem, false},
		{data.KindIncident, data.Resolved, data.Investigating, true},
		{data.KindIncident, data.Postmortem, data.Resolved, false},
		{data.KindIncident, data.Investigating, data.InProgress, false},
		{data.KindMaintenance, data.Scheduled, data.Verifying, false},
		{data.KindMaintenance, data.Scheduled, data.Completed, true},
		{data.KindMaintenance, data.Verifying, data.InProgress, true},
		{data.KindMaintenance, data.Completed, data.Completed, false},
	}
	for _, tt := range tests {
		if got := data.CanMove(tt.k, tt.from, tt.to); got != tt.want {
			t.Errorf("CanMove(%s, %s, %s) = %v; want %v", tt.k, tt.from, tt.to, got, tt.want)
		}
	}
}

// TestConcurrentReadersDuringWrites has readers take snapshots while a
// writer changes statuses: every read must succeed and see a consistent
// state (each snapshot's group status matches its children).
func TestConcurrentReadersDuringWrites(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var done atomic.Bool
	var reads atomic.Int64
	errs := make(chan error, 16)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				snap, err := s.Snapshot(ctx, data.SnapshotOptions{})
				if err != nil {
					errs <- err
					return
				}
				var group, worst data.ComponentStatus = "", data.Operational
				for _, c := range snap.Components {
					if c.ID == "idp" {
						group = c.Status
					}
					if c.GroupID == "idp" {
						worst = worst.Worse(c.Status)
					}
				}
				if group != worst {
					errs <- errors.New("group status " + string(group) + " != worst child " + string(worst))
					return
				}
				reads.Add(1)
			}
		}()
	}
	statuses := []data.ComponentStatus{data.MajorOutage, data.Operational, data.DegradedPerformance, data.PartialOutage}
	for i := 0; i < 200; i++ {
		id := []string{"sso-google", "sso-github"}[i%2]
		if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: id, Status: statuses[i%len(statuses)], Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads.Load() == 0 {
		t.Error("no read completed")
	}
	hist, _ := s.History(ctx, "sso-google", 1000)
	if len(hist) != 101 {
		t.Errorf("sso-google history = %d rows; want 101", len(hist))
	}
}

func TestClosedStore(t *testing.T) {
	s := datatest.MustOpen(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Snapshot(ctx, data.SnapshotOptions{}); !errors.Is(err, data.ErrClosed) {
		t.Errorf("Snapshot after Close = %v; want ErrClosed", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, data.ErrClosed) {
		t.Errorf("Ping after Close = %v; want ErrClosed", err)
	}
	ch, _ := s.Subscribe()
	if _, ok := <-ch; ok {
		t.Error("Subscribe after Close returned an open channel")
	}
}

// TestWatchSeesOtherProcesses commits through a second Store on the same
// file, as the CLI does, and expects the first Store's subscribers to hear of
// it.
func TestWatchSeesOtherProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	a, err := data.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	changes, stop := a.Subscribe()
	defer stop()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Watch(wctx, 10*time.Millisecond) }()
	// Watch signals once when it has read the first version.
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no first signal from Watch")
	}
	b, err := data.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: data.MajorOutage, Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal for another connection's commit")
	}
	// And nothing more while nobody writes.
	select {
	case <-changes:
		t.Error("signal without a commit")
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch = %v", err)
	}
}
