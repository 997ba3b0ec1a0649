package data_test

import (
	"math/rand/v2"
	"reflect"
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
			Status: data.ComponentStatuses[r.IntN(len(data.ComponentStatuses))], Source: "admin", Actor: "t"}); err != nil {
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
