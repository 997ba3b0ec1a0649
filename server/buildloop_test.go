package server

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/data/datatest"
)

// TestBuildLoop drives the rebuild loop on synctest's fake clock: a burst of
// changes is rendered once after the debounce, the page is rebuilt every
// refresh interval without changes, and again when the day turns in the
// page's time zone.
func TestBuildLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := datatest.MustOpen(t)
		if _, err := st.SyncCatalog(ctx, fixtureCatalog(), "config"); err != nil {
			t.Fatal(err)
		}
		o := fixtureOptions()
		o.Now = time.Now // the bubble's fake clock
		o.Debounce = 250 * time.Millisecond
		o.Refresh = time.Hour
		srv, err := New(st, o)
		if err != nil {
			t.Fatal(err)
		}
		rebuilds := func() float64 { return testutil.ToFloat64(srv.metrics.rebuilds.WithLabelValues("ok")) }
		srv.Start(ctx)
		t.Cleanup(func() {
			if err := srv.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
		base := rebuilds() // the first snapshot, built by New

		// A burst of ten changes is one rebuild.
		for i := 0; i < 10; i++ {
			s := []data.ComponentStatus{data.MajorOutage, data.Operational}[i%2]
			if _, err := st.SetComponentStatus(ctx, data.SetStatus{ComponentID: "rest", Status: s, Actor: "t"}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := rebuilds() - base; got != 0 {
			t.Errorf("%v rebuilds before the debounce ran out; want 0", got)
		}
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		if got := rebuilds() - base; got != 1 {
			t.Errorf("%v rebuilds after a burst of changes; want 1", got)
		}

		// Nothing changes: one rebuild per refresh interval.
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := rebuilds() - base; got != 2 {
			t.Errorf("%v rebuilds after an hour; want 2 (burst, refresh)", got)
		}

		// The fake clock starts at midnight UTC, 01:00 in Berlin; the next
		// Berlin midnight is 23:00 UTC, where the day rollover rebuilds
		// besides the hourly refreshes.
		now := time.Now().In(berlin)
		next := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, berlin)
		before := rebuilds()
		time.Sleep(next.Sub(now) - 30*time.Minute) // half an hour before midnight
		synctest.Wait()
		hourly := rebuilds() - before
		time.Sleep(time.Hour) // past midnight, and one more refresh tick
		synctest.Wait()
		if got := rebuilds() - before - hourly; got != 2 {
			t.Errorf("%v rebuilds around midnight; want 2 (the rollover and the hourly refresh)", got)
		}
		if srv.snap.Load().entries["/"] == nil {
			t.Error("no page after the rollover")
		}
	})
}
