package data_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// TestResolveEveryCombination checks precedence over every combination of
// inputs: each of the four sources absent or present with each status, and a
// second automatic input.
func TestResolveEveryCombination(t *testing.T) {
	opts := append([]data.ComponentStatus{""}, data.ComponentStatuses...) // "" = no input
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for _, ov := range opts {
		for _, inc := range opts {
			for _, mt := range opts {
				for _, a1 := range opts {
					for _, a2 := range opts {
						var ins []data.Input
						add := func(src data.InputSource, key string, st data.ComponentStatus) {
							if st != "" {
								ins = append(ins, data.Input{ComponentID: "c", Source: src, Key: key, Status: st, Reason: string(src) + key, At: at})
							}
						}
						add(data.SourceAutomatic, "probes", a1)
						add(data.SourceMaintenance, "m1", mt)
						add(data.SourceAutomatic, "slo:x", a2)
						add(data.SourceIncident, "i1", inc)
						add(data.SourceOverride, "", ov)
						// The expected answer, written out the long way.
						want, wantBy := data.Operational, ""
						switch {
						case ov != "":
							want, wantBy = ov, "override"
						case inc != "":
							want, wantBy = inc, "incidenti1"
						case mt != "":
							want, wantBy = mt, "maintenancem1"
						case a1 != "" || a2 != "":
							w := a1
							wantBy = "automaticprobes"
							if a2 != "" && (a1 == "" || a2.Severity() > a1.Severity()) {
								w, wantBy = a2, "automaticslo:x"
							}
							want = w
						}
						got, by := data.Resolve(ins)
						if got != want || by.Reason != wantBy {
							t.Fatalf("Resolve(override=%q incident=%q maintenance=%q auto=%q,%q) = %s by %q; want %s by %q",
								ov, inc, mt, a1, a2, got, by.Reason, want, wantBy)
						}
						// Order of the inputs must not matter.
						for i, j := 0, len(ins)-1; i < j; i, j = i+1, j-1 {
							ins[i], ins[j] = ins[j], ins[i]
						}
						if got2, by2 := data.Resolve(ins); got2 != got || by2.Reason != by.Reason {
							t.Fatalf("Resolve depends on input order: %s/%q vs %s/%q", got2, by2.Reason, got, by.Reason)
						}
						n++
					}
				}
			}
		}
	}
	if n != 6*6*6*6*6 {
		t.Fatalf("checked %d combinations", n)
	}
}

func TestResolveTies(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ins := []data.Input{
		{Source: data.SourceIncident, Key: "b", Status: data.MajorOutage, At: t0},
		{Source: data.SourceIncident, Key: "a", Status: data.MajorOutage, At: t0},
		{Source: data.SourceIncident, Key: "c", Status: data.MajorOutage, At: t0.Add(-time.Hour)},
	}
	if _, by := data.Resolve(ins); by.Key != "a" {
		t.Errorf("tie between equal inputs went to %q; want the lowest key", by.Key)
	}
	ins[2].At = t0.Add(time.Hour)
	if _, by := data.Resolve(ins); by.Key != "c" {
		t.Errorf("tie went to %q; want the newest", by.Key)
	}
	if st, by := data.Resolve(nil); st != data.Operational || by.Source != "" {
		t.Errorf("Resolve(nil) = %s, %+v", st, by)
	}
}

// statusOf reads a component's status, source and reason from a snapshot.
func statusOf(t *testing.T, s *data.Store, id string) (data.ComponentStatus, data.InputSource, string) {
	t.Helper()
	snap, err := s.Snapshot(ctx, data.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range snap.Components {
		if c.ID == id {
			return c.Status, c.StatusSource, c.StatusReason
		}
	}
	t.Fatalf("no component %s", id)
	return "", "", ""
}

func countEvents(t *testing.T, s *data.Store) int {
	t.Helper()
	ev, err := s.Events(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}

// TestFallBack layers an override, an incident, a maintenance and automatic
// detection on one component and removes them in different orders: the
// component always shows what the remaining inputs say.
func TestFallBack(t *testing.T) {
	type step struct {
		do         string
		want       data.ComponentStatus
		wantSource data.InputSource
	}
	orders := map[string][]step{
		"clear override first": {
			{"clear override", data.MajorOutage, data.SourceIncident},
			{"resolve incident", data.UnderMaintenance, data.SourceMaintenance},
			{"complete maintenance", data.PartialOutage, data.SourceAutomatic},
			{"probes recover", data.Operational, data.SourceAutomatic},
		},
		"resolve incident first": {
			{"resolve incident", data.DegradedPerformance, data.SourceOverride},
			{"complete maintenance", data.DegradedPerformance, data.SourceOverride},
			{"clear override", data.PartialOutage, data.SourceAutomatic},
			{"probes recover", data.Operational, data.SourceAutomatic},
		},
		"complete maintenance first": {
			{"complete maintenance", data.DegradedPerformance, data.SourceOverride},
			{"probes recover", data.DegradedPerformance, data.SourceOverride},
			{"clear override", data.MajorOutage, data.SourceIncident},
			{"resolve incident", data.Operational, data.SourceAutomatic},
		},
	}
	for name, steps := range orders {
		t.Run(name, func(t *testing.T) {
			s := datatest.MustOpen(t)
			if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
				t.Fatal(err)
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			_, err := s.SetInputs(ctx, []data.Input{{ComponentID: "payments", Source: data.SourceAutomatic, Key: "probes",
				Status: data.PartialOutage, Reason: `probe pay: step 3 "pay" returned 502`, Actor: "probes"}})
			must(err)
			mt, err := s.CreateMaintenance(ctx, data.NewMaintenance{Name: "Database upgrade", Body: "Planned.", ScheduledFor: time.Now(),
				ScheduledUntil: time.Now().Add(time.Hour), ComponentIDs: []string{"payments"}, Actor: "ana"})
			must(err)
			_, err = s.AddUpdate(ctx, mt.ID, data.NewUpdate{Status: data.InProgress, Body: "Started.", Actor: "ana"})
			must(err)
			if st, src, why := statusOf(t, s, "payments"); st != data.UnderMaintenance || src != data.SourceMaintenance ||
				why != `maintenance "Database upgrade" started` {
				t.Fatalf("maintenance over probes: %s by %s (%q)", st, src, why)
			}
			in, err := s.CreateIncident(ctx, data.NewIncident{Name: "Card payments failing", Body: "Investigating.", Actor: "lee",
				Components: map[string]data.ComponentStatus{"payments": data.MajorOutage}})
			must(err)
			if st, src, why := statusOf(t, s, "payments"); st != data.MajorOutage || src != data.SourceIncident ||
				why != `incident "Card payments failing", posted by lee` {
				t.Fatalf("incident over maintenance: %s by %s (%q)", st, src, why)
			}
			_, err = s.SetComponentStatus(ctx, data.SetStatus{ComponentID: "payments", Status: data.DegradedPerformance, Actor: "ops", Reason: "card network slow"})
			must(err)
			if st, src, _ := statusOf(t, s, "payments"); st != data.DegradedPerformance || src != data.SourceOverride {
				t.Fatalf("override over incident: %s by %s", st, src)
			}
			for _, st := range steps {
				switch st.do {
				case "clear override":
					_, err = s.ClearInput(ctx, "payments", data.SourceOverride, "", "ops", "")
				case "resolve incident":
					_, err = s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Resolved, Body: "Fixed.", Actor: "lee"})
				case "complete maintenance":
					_, err = s.AddUpdate(ctx, mt.ID, data.NewUpdate{Status: data.Completed, Body: "Done.", Actor: "ana"})
				case "probes recover":
					_, err = s.SetInputs(ctx, []data.Input{{ComponentID: "payments", Source: data.SourceAutomatic, Key: "probes",
						Status: data.Operational, Reason: "probe pay passing", Actor: "probes"}})
				}
				must(err)
				got, src, _ := statusOf(t, s, "payments")
				if got != st.want || src != st.wantSource {
					t.Fatalf("after %s: %s by %s; want %s by %s", st.do, got, src, st.want, st.wantSource)
				}
			}
			hist, err := s.History(ctx, "payments", 1)
			must(err)
			if hist[0].NewStatus != data.Operational {
				t.Errorf("last history row = %+v", hist[0])
			}
		})
	}
}

func TestReassertChangesNothing(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	in := data.Input{ComponentID: "payments", Source: data.SourceAutomatic, Key: "probes", Status: data.MajorOutage, Reason: "3 of 3 regions", Actor: "probes"}
	ch, err := s.SetInputs(ctx, []data.Input{in})
	if err != nil || len(ch) != 1 || ch[0].Source != "automatic" || ch[0].Reason != "3 of 3 regions" {
		t.Fatalf("first SetInputs = %+v, %v", ch, err)
	}
	events, audits := countEvents(t, s), len(mustAudit(t, s))
	ch, err = s.SetInputs(ctx, []data.Input{in})
	if err != nil || len(ch) != 0 {
		t.Fatalf("re-assert = %+v, %v; want no change", ch, err)
	}
	if countEvents(t, s) != events || len(mustAudit(t, s)) != audits {
		t.Errorf("re-asserting the same input wrote events or audit entries")
	}
	// New words, same status: the reason shown follows, with no event.
	in.Reason = "2 of 3 regions"
	if ch, err = s.SetInputs(ctx, []data.Input{in}); err != nil || len(ch) != 0 {
		t.Fatalf("new reason = %+v, %v", ch, err)
	}
	if _, _, why := statusOf(t, s, "payments"); why != "2 of 3 regions" {
		t.Errorf("reason shown = %q", why)
	}
	if countEvents(t, s) != events {
		t.Errorf("a new reason alone emitted an event")
	}
	// Clearing what is not there changes nothing.
	if changed, err := s.ClearInput(ctx, "payments", data.SourceOverride, "", "ops", ""); err != nil || changed {
		t.Errorf("clear absent override = %v, %v", changed, err)
	}
	if countEvents(t, s) != events {
		t.Errorf("clearing an absent input emitted an event")
	}
}

func mustAudit(t *testing.T, s *data.Store) []data.AuditEntry {
	t.Helper()
	a, err := s.Audit(ctx, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestBadInputStoresNothing: unknown component, invalid status, unknown
// source, a group, a missing key, and a batch with one bad input: a clear
// error, nothing stored, no event.
func TestBadInputStoresNothing(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	good := data.Input{ComponentID: "payments", Source: data.SourceOverride, Status: data.MajorOutage, Actor: "ops"}
	with := func(f func(*data.Input)) data.Input { in := good; f(&in); return in }
	tests := []struct {
		name string
		ins  []data.Input
		want error // nil: an *InvalidError
	}{
		{"unknown component", []data.Input{with(func(i *data.Input) { i.ComponentID = "ghost" })}, data.ErrNotFound},
		{"invalid status", []data.Input{with(func(i *data.Input) { i.Status = "down" })}, nil},
		{"unknown source", []data.Input{with(func(i *data.Input) { i.Source = "magic"; i.Key = "x" })}, nil},
		{"group", []data.Input{with(func(i *data.Input) { i.ComponentID = "idp" })}, nil},
		{"automatic without key", []data.Input{with(func(i *data.Input) { i.Source = data.SourceAutomatic })}, nil},
		{"override with key", []data.Input{with(func(i *data.Input) { i.Key = "x" })}, nil},
		{"no actor", []data.Input{with(func(i *data.Input) { i.Actor = "" })}, nil},
		{"control characters in reason", []data.Input{with(func(i *data.Input) { i.Reason = "a\x1b[31mb" })}, nil},
		{"one bad in a batch", []data.Input{good, with(func(i *data.Input) { i.ComponentID = "ghost" })}, data.ErrNotFound},
	}
	events := countEvents(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetInputs(ctx, tt.ins)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("error = %v; want %v", err, tt.want)
				}
			} else {
				var inv *data.InvalidError
				if !errors.As(err, &inv) {
					t.Fatalf("error = %v; want *InvalidError", err)
				}
			}
			ins, _ := s.Inputs(ctx, "payments")
			if len(ins) != 0 {
				t.Errorf("inputs stored after a refused change: %+v", ins)
			}
			if countEvents(t, s) != events {
				t.Errorf("events written after a refused change")
			}
		})
	}
	if _, err := s.ClearInput(ctx, "payments", "magic", "", "ops", ""); err == nil {
		t.Error("ClearInput with an unknown source succeeded")
	}
	if got := data.CleanReason("a\x1b[31mb\n" + string(make([]byte, 3000))); len([]rune(got)) != 2000 || got[:4] != "a [3" {
		t.Errorf("CleanReason = %q…", got[:10])
	}
}

func TestIncidentReopenDeclaresAgain(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	in, err := s.CreateIncident(ctx, data.NewIncident{Name: "Logins fail", Body: "x", Actor: "ana",
		Components: map[string]data.ComponentStatus{"auth-api": data.PartialOutage}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Identified, Body: "y", Actor: "ana",
		Components: map[string]data.ComponentStatus{"auth-api": data.MajorOutage}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Resolved, Body: "z", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := statusOf(t, s, "auth-api"); st != data.Operational {
		t.Fatalf("resolved: %s", st)
	}
	if _, err := s.AddUpdate(ctx, in.ID, data.NewUpdate{Status: data.Investigating, Body: "It is back.", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	if st, src, _ := statusOf(t, s, "auth-api"); st != data.MajorOutage || src != data.SourceIncident {
		t.Errorf("reopened: %s by %s; want the last declared major_outage", st, src)
	}
	ev, _ := s.Events(ctx, 0, 1000)
	kinds := map[data.EventKind]int{}
	for _, e := range ev {
		kinds[e.Kind]++
		if e.Kind == data.EventIncidentResolved {
			p := e.Payload.(*data.IncidentChanged)
			if p.Status != data.Resolved || p.OldStatus != data.Identified || len(p.Components) != 1 ||
				p.Components[0].OldStatus != data.MajorOutage || p.Components[0].NewStatus != data.Operational || !p.Notify {
				t.Errorf("resolved event = %+v", p)
			}
		}
	}
	want := map[data.EventKind]int{data.EventIncidentCreated: 1, data.EventIncidentUpdated: 2, data.EventIncidentResolved: 1,
		data.EventComponentStatusChanged: 4, data.EventCatalogSynced: 1}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("event kinds = %v; want %v", kinds, want)
	}
}

func TestSilentUpdateIsMarked(t *testing.T) {
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	in, err := s.CreateIncident(ctx, data.NewIncident{Name: "x", Body: "x", Actor: "ana", Silent: true})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := s.Events(ctx, 0, 1000)
	last := ev[len(ev)-1]
	if p, ok := last.Payload.(*data.IncidentChanged); !ok || p.IncidentID != in.ID || p.Notify {
		t.Errorf("silent incident event = %+v", last)
	}
}

func openCatalog(t *testing.T) *data.Store {
	t.Helper()
	s := datatest.MustOpen(t)
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	return s
}

func contextWithCancel() (context.Context, context.CancelFunc) { return context.WithCancel(ctx) }
