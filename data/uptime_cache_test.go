package data_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// TestSnapshotUptimeCache changes statuses at random over ten days, across
// the spring DST change, and after each change compares the uptime a
// long-lived store computes (closed days kept between snapshots) with what a
// store opened afresh on the same file computes from the whole history. A
// change dated in the past, as another process with a slow clock would
// write, must be seen too.
func TestSnapshotUptimeCache(t *testing.T) {
	s := datatest.MustOpen(t)
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 22, 9, 0, 0, 0, loc)
	s.Now = func() time.Time { return clock }
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	fresh := func() *data.Snapshot {
		t.Helper()
		f, err := data.Open(ctx, s.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.Now = s.Now
		snap, err := f.Snapshot(ctx, data.SnapshotOptions{Days: 7, Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		return snap
	}
	r := rand.New(rand.NewPCG(3, 4))
	comps := []string{"auth-api", "sso-google", "payments"}
	end := clock.AddDate(0, 0, 10)
	for step := 0; clock.Before(end); step++ {
		clock = clock.Add(time.Duration(r.Int64N(int64(9 * time.Hour))))
		at := clock
		if step%17 == 16 {
			clock = clock.Add(-30 * time.Hour) // a change dated yesterday
		}
		if _, err := s.SetComponentStatus(ctx, data.SetStatus{ComponentID: comps[r.IntN(len(comps))],
			Status: data.ComponentStatuses[r.IntN(len(data.ComponentStatuses))], Actor: "t"}); err != nil {
			t.Fatal(err)
		}
		clock = at
		got, err := s.Snapshot(ctx, data.SnapshotOptions{Days: 7, Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		want := fresh()
		if !reflect.DeepEqual(got.Uptime, want.Uptime) {
			for _, c := range comps {
				for i := range want.Uptime[c] {
					if got.Uptime[c][i] != want.Uptime[c][i] {
						t.Fatalf("step %d at %v, %s day %d: cached %+v; fresh %+v", step, clock, c, i, got.Uptime[c][i], want.Uptime[c][i])
					}
				}
			}
			t.Fatalf("step %d: uptime differs", step)
		}
	}
}

// TestSnapshotRecentAndIDs checks which incidents a snapshot carries: open
// ones, recent ones and old ones updated recently, but not the long
// resolved ones, which stay reachable through IDs and Store.Incident.
func TestSnapshotRecentAndIDs(t *testing.T) {
	s := datatest.MustOpen(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	clock := now.AddDate(0, 0, -400)
	s.Now = func() time.Time { return clock }
	if _, err := s.SyncCatalog(ctx, catalog(), "config"); err != nil {
		t.Fatal(err)
	}
	open := func(name string) string {
		in, err := s.CreateIncident(ctx, data.NewIncident{Name: name, Body: "b", Actor: "t",
			Components: map[string]data.ComponentStatus{"payments": data.PartialOutage}})
		if err != nil {
			t.Fatal(err)
		}
		return in.ID
	}
	update := func(id string, st data.IncidentStatus) {
		if _, err := s.AddUpdate(ctx, id, data.NewUpdate{Status: st, Body: "b", Actor: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	var old []string
	for i := range 60 {
		clock = now.AddDate(0, 0, -400+i)
		id := open("old")
		update(id, data.Resolved)
		old = append(old, id)
	}
	clock = now.AddDate(0, 0, -300)
	stillOpen := open("still open")
	clock = now.AddDate(0, 0, -2)
	recent := open("recent")
	update(recent, data.Resolved)
	clock = now.AddDate(0, 0, -1)
	update(old[0], data.Postmortem) // an old incident updated yesterday
	clock = now

	snap, err := s.Snapshot(ctx, data.SnapshotOptions{Recent: 5})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range snap.Incidents {
		got = append(got, in.ID)
	}
	// Newest first by creation: recent, the newest old ones (Recent: 5),
	// the open one, and the old one updated yesterday.
	want := []string{recent, stillOpen, old[59], old[58], old[57], old[0]}
	if !slices.Equal(got, want) {
		t.Errorf("snapshot incidents = %v; want %v", got, want)
	}
	if len(snap.IDs) != 62 || snap.IDs[0] != old[0] || snap.IDs[61] != recent || snap.IDsSeq == 0 {
		t.Errorf("IDs = %d ids from %v, seq %d; want all 62, oldest first", len(snap.IDs), snap.IDs[:1], snap.IDsSeq)
	}
	if in, err := s.Incident(ctx, old[30]); err != nil || in.Status != data.Resolved || len(in.Updates) != 2 {
		t.Errorf("Incident(old) = %+v, %v", in, err)
	}

	next, err := s.Snapshot(ctx, data.SnapshotOptions{IDsAfter: snap.IDsSeq})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.IDs) != 0 || next.IDsSeq != snap.IDsSeq {
		t.Errorf("IDs after %d = %v, seq %d; want none, same seq", snap.IDsSeq, next.IDs, next.IDsSeq)
	}
	added := open("new")
	next, err = s.Snapshot(ctx, data.SnapshotOptions{IDsAfter: snap.IDsSeq})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(next.IDs, []string{added}) || next.IDsSeq <= snap.IDsSeq {
		t.Errorf("IDs after a new incident = %v, seq %d; want [%s]", next.IDs, next.IDsSeq, added)
	}

	next, err = s.Snapshot(ctx, data.SnapshotOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, in := range next.Incidents {
		got = append(got, in.ID)
	}
	if want := []string{added, recent, stillOpen}; !slices.Equal(got, want) {
		t.Errorf("with Limit 3 = %v; want the open ones and the newest resolved one, %v", got, want)
	}
}
