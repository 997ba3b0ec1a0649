package probes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/statusd/statusd/data"
)

// funcChecker is a Checker made of a function.
type funcChecker func(ctx context.Context) Check

func (f funcChecker) Check(ctx context.Context) Check { return f(ctx) }

// collect is a Sink that keeps every result.
type collect struct {
	mu sync.Mutex
	rs []data.ProbeResult
}

func (c *collect) Record(r data.ProbeResult) {
	c.mu.Lock()
	c.rs = append(c.rs, r)
	c.mu.Unlock()
}

func (c *collect) of(id string) []data.ProbeResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []data.ProbeResult
	for _, r := range c.rs {
		if r.ProbeID == id {
			out = append(out, r)
		}
	}
	return out
}

func sleeper(d time.Duration) Checker {
	return funcChecker(func(ctx context.Context) Check {
		select {
		case <-time.After(d):
			return up()
		case <-ctx.Done():
			return down("cancelled")
		}
	})
}

func probe(id string, interval, timeout time.Duration, c Checker) *Probe {
	return &Probe{ID: id, ComponentID: "c", Interval: interval, Timeout: timeout, Checker: c}
}

func TestOffsetSpreadsProbes(t *testing.T) {
	const n, interval = 1000, 30 * time.Second
	perSecond := map[time.Duration]int{}
	for i := range n {
		off := Offset(fmt.Sprintf("probe-%d", i), interval)
		if off < 0 || off >= interval {
			t.Fatalf("Offset = %v; want within [0, %v)", off, interval)
		}
		perSecond[off.Truncate(time.Second)]++
	}
	// Deterministic: the same id lands at the same point after a restart
	// (a value fixed here, as FNV-1a is).
	if got, want := Offset("checkout", interval), time.Duration(28084854873); got != want {
		t.Errorf("Offset(checkout) = %d; want %d", got, want)
	}
	// Evenly spread is 33 a second; a burst would put hundreds in one.
	for s, c := range perSecond {
		if c > 70 {
			t.Errorf("%d of %d probes start in second %v", c, n, s)
		}
	}
	if len(perSecond) != 30 {
		t.Errorf("probes start in %d distinct seconds; want all 30", len(perSecond))
	}
}

func TestSchedulerNoDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink collect
		// Each run takes 3s of a 10s interval: runs still start every 10s.
		p := probe("steady", 10*time.Second, 5*time.Second, sleeper(3*time.Second))
		s := NewScheduler([]*Probe{p}, &sink, SchedulerOptions{})
		s.Start(t.Context())
		time.Sleep(101 * time.Second)
		if err := s.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		rs := sink.of("steady")
		if len(rs) < 9 || len(rs) > 11 {
			t.Fatalf("%d runs in 101s; want about 10", len(rs))
		}
		off := Offset("steady", 10*time.Second)
		for i, r := range rs {
			if got := r.At.Sub(time.Unix(0, 0)) % (10 * time.Second); got != off {
				t.Errorf("run %d started at %v, %v into its interval; want %v", i, r.At, got, off)
			}
			if i > 0 && r.At.Sub(rs[i-1].At) != 10*time.Second {
				t.Errorf("runs %d and %d are %v apart", i-1, i, r.At.Sub(rs[i-1].At))
			}
			if r.Duration != 3*time.Second || r.Outcome != data.ProbeUp || r.Region != data.DefaultRegion {
				t.Errorf("run %d = %+v", i, r)
			}
		}
		if st := s.Stats(); st.LagP99 > time.Millisecond || st.Missed != 0 {
			t.Errorf("stats = %+v; want no lag on a fake clock and nothing missed", st)
		}
	})
}

func TestSchedulerTimeoutCancelsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink collect
		var sawDeadline bool
		hang := funcChecker(func(ctx context.Context) Check {
			<-ctx.Done()
			sawDeadline = errors.Is(ctx.Err(), context.DeadlineExceeded)
			return down("timed out")
		})
		// A checker that ignores its deadline's verdict is still down.
		liar := funcChecker(func(ctx context.Context) Check {
			<-ctx.Done()
			return up()
		})
		s := NewScheduler([]*Probe{probe("hang", time.Minute, 2*time.Second, hang), probe("liar", time.Minute, 2*time.Second, liar)}, &sink, SchedulerOptions{})
		s.Start(t.Context())
		time.Sleep(time.Minute)
		_ = s.Stop(t.Context())
		rs := sink.of("hang")
		if len(rs) != 1 || rs[0].Duration != 2*time.Second || rs[0].Outcome != data.ProbeDown || !sawDeadline {
			t.Errorf("hang results = %+v (deadline seen %v); want one down run of exactly 2s", rs, sawDeadline)
		}
		if rs := sink.of("liar"); len(rs) != 1 || rs[0].Outcome != data.ProbeDown || rs[0].Reason != "timed out after 2s" {
			t.Errorf("liar results = %+v", rs)
		}
	})
}

func TestSchedulerSlowTargetDelaysNoOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink collect
		probes := []*Probe{probe("stuck", 10*time.Second, 9*time.Second, sleeper(time.Hour))}
		for i := range 20 {
			probes = append(probes, probe(fmt.Sprintf("fine-%d", i), 5*time.Second, 2*time.Second, sleeper(10*time.Millisecond)))
		}
		s := NewScheduler(probes, &sink, SchedulerOptions{Concurrency: 4})
		s.Start(t.Context())
		time.Sleep(time.Minute)
		_ = s.Stop(t.Context())
		for i := range 20 {
			id := fmt.Sprintf("fine-%d", i)
			rs := sink.of(id)
			if len(rs) < 11 {
				t.Errorf("%s ran %d times in a minute; want 12", id, len(rs))
			}
			off := Offset(id, 5*time.Second)
			for _, r := range rs {
				if lag := r.At.Sub(time.Unix(0, 0))%(5*time.Second) - off; lag != 0 {
					t.Errorf("%s started %v late", id, lag)
				}
			}
		}
		if rs := sink.of("stuck"); len(rs) < 5 || len(rs) > 6 || rs[0].Outcome != data.ProbeDown {
			t.Errorf("stuck = %d results; want 5 or 6 (one every 10s), down", len(rs))
		}
	})
}

func TestSchedulerSkipsMissedTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink collect
		// One slot, held 9s of every 10s by "hog": "quick" (every 2s)
		// mostly waits, and must skip the ticks it missed instead of
		// running them back to back.
		hog := probe("hog", 10*time.Second, 9500*time.Millisecond, sleeper(9*time.Second))
		quick := probe("quick", 2*time.Second, time.Second, sleeper(10*time.Millisecond))
		s := NewScheduler([]*Probe{hog, quick}, &sink, SchedulerOptions{Concurrency: 1})
		s.Start(t.Context())
		time.Sleep(100 * time.Second)
		_ = s.Stop(t.Context())
		rs := sink.of("quick")
		for i := 1; i < len(rs); i++ {
			if gap := rs[i].At.Sub(rs[i-1].At); gap < time.Second {
				t.Errorf("quick ran twice within %v: a pile-up of missed ticks", gap)
			}
		}
		st := s.Stats()
		if st.Missed == 0 || len(rs) > 50 {
			t.Errorf("quick ran %d times, %d ticks missed; want missed ticks skipped", len(rs), st.Missed)
		}
		if st.LagP99 < time.Second {
			t.Errorf("lag p99 = %v; want the wait for the slot measured", st.LagP99)
		}
	})
}

func TestSchedulerStopCancelsRunsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sink collect
		started := make(chan struct{})
		var once sync.Once
		c := funcChecker(func(ctx context.Context) Check {
			once.Do(func() { close(started) })
			<-ctx.Done()
			return down("cancelled")
		})
		s := NewScheduler([]*Probe{probe("p", time.Second, 900*time.Millisecond, c)}, &sink, SchedulerOptions{})
		s.Start(context.Background())
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(sink.of("p")); n != 0 {
			t.Errorf("%d results from a run cancelled by Stop; want none", n)
		}
		// synctest.Test fails if any goroutine is left behind.
	})
}
