package slo

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func mustDef(t *testing.T, d Definition) Definition {
	t.Helper()
	if d.ID == "" {
		d.ID = "co"
	}
	if d.JourneyID == "" {
		d.JourneyID = "checkout"
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

var t0 = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

func minuteOf(t time.Time) int64 { return unixMinute(t) }

// TestFiguresHandComputed checks SLI, budget and burn rates against values
// worked out by hand in each case's comment.
func TestFiguresHandComputed(t *testing.T) {
	type minute struct {
		ago         int // minutes before the head minute
		good, total int64
	}
	cases := []struct {
		name          string
		def           Definition
		minutes       []minute
		sli           float64
		remaining     float64
		budget        time.Duration
		remainingTime time.Duration
		burn          map[time.Duration]float64
		alert         string
		status        data.ComponentStatus
		reason        string
	}{{
		// 1,000,000 events, 500 bad; 99.9% allows 1,000: half the budget is
		// left. The budget is 0.1% of 30 days = 43 min 12 s; half is 21:36.
		// The 500 bad events were 8 days ago: no alert window sees them.
		name: "half the budget", def: Definition{Objective: 99.9, Window: Window{Days: 30}},
		minutes: []minute{{ago: 0, good: 500_000, total: 500_000}, {ago: 8 * 1440, good: 499_500, total: 500_000}},
		sli:     0.9995, remaining: 0.5, budget: 43*time.Minute + 12*time.Second, remainingTime: 21*time.Minute + 36*time.Second,
		burn: map[time.Duration]float64{5 * time.Minute: 0, time.Hour: 0, 72 * time.Hour: 0},
	}, {
		// 60 minutes of 1,000 events: 55 with 15 bad and the last 5 with 20
		// bad. 1h: 925/60,000 = 1.5417% → 15.42×; 5m: 2% → 20×. Both ≥ 14.4.
		// 6h and 3d see the same hour (nothing before): 15.42× ≥ 6 and 1,
		// 30m: (25×15+5×20)/30,000 = 1.5833% → 15.83×. The fast rules win
		// over the slow one; the first fast rule gives the reason.
		name: "fast burn", def: Definition{Name: "Checkout availability", Objective: 99.9, Window: Window{Days: 28}},
		minutes: func() []minute {
			var l []minute
			for i := 0; i < 60; i++ {
				bad := int64(15)
				if i < 5 {
					bad = 20
				}
				l = append(l, minute{ago: i, good: 1000 - bad, total: 1000})
			}
			return l
		}(),
		sli: 1 - 925.0/60000, remaining: 1 - 925.0/60000/0.001, budget: 40*time.Minute + 19*time.Second + 200*time.Millisecond,
		remainingTime: time.Duration(math.Round(float64(40*time.Minute+19*time.Second+200*time.Millisecond) * (1 - 925.0/60000/0.001))),
		burn: map[time.Duration]float64{5 * time.Minute: 20, 30 * time.Minute: 475.0 / 30000 / 0.001, time.Hour: 925.0 / 60000 / 0.001,
			6 * time.Hour: 925.0 / 60000 / 0.001},
		alert: data.SLOFastBurn, status: data.PartialOutage,
		reason: "SLO Checkout availability: burning error budget 15.4× over 1h and 20.0× over 5m (objective 99.9%)",
	}, {
		// A short spike against 99% (1% allowed): the last 5 minutes have
		// 100 events with 30 bad each (30×), then 20 good events a minute
		// from 10 to 59 minutes ago. 1h: 150/1,500 = 10× (< 14.4); 30m:
		// 150/900 = 16.7× and 6h: 10×, both ≥ 6: the second fast rule fires.
		name: "second fast rule", def: Definition{Objective: 99, Window: Window{Days: 30}},
		minutes: func() []minute {
			var l []minute
			for i := 0; i < 5; i++ {
				l = append(l, minute{ago: i, good: 70, total: 100})
			}
			for i := 10; i < 60; i++ {
				l = append(l, minute{ago: i, good: 20, total: 20})
			}
			return l
		}(),
		sli: 0.9, remaining: -9, budget: 7*time.Hour + 12*time.Minute, remainingTime: -9 * (7*time.Hour + 12*time.Minute),
		burn:  map[time.Duration]float64{5 * time.Minute: 30, 30 * time.Minute: 150.0 / 900 / 0.01, time.Hour: 10, 6 * time.Hour: 10},
		alert: data.SLOFastBurn, status: data.PartialOutage,
		reason: "SLO co: burning error budget 10.0× over 6h and 16.6× over 30m (objective 99%)",
	}, {
		// A slow leak: 0.2% bad for three days against 99.9% is 2×: below
		// 6× and 14.4×, above 1× over 3d and 6h.
		name: "slow burn", def: Definition{Objective: 99.9, Window: Window{Days: 30}},
		minutes: func() []minute {
			var l []minute
			for i := 0; i < 3*1440; i += 10 {
				l = append(l, minute{ago: i, good: 998, total: 1000})
			}
			return l
		}(),
		sli: 0.998, remaining: -1, budget: 43*time.Minute + 12*time.Second, remainingTime: -(43*time.Minute + 12*time.Second),
		burn:  map[time.Duration]float64{5 * time.Minute: 2, time.Hour: 2, 6 * time.Hour: 2, 72 * time.Hour: 2},
		alert: data.SLOSlowBurn, status: data.DegradedPerformance,
		reason: "SLO co: burning error budget 2.0× over 3d and 2.0× over 6h (objective 99.9%)",
	}, {
		// Bad events 7 hours ago, in the 3-day window but in none of the
		// shorter ones: the burn has stopped and nothing fires.
		name: "stopped burning", def: Definition{Objective: 99.9, Window: Window{Days: 30}},
		minutes: []minute{{ago: 7 * 60, good: 0, total: 1000}, {ago: 0, good: 1000, total: 1000}},
		sli:     0.5, remaining: -499, budget: 43*time.Minute + 12*time.Second, remainingTime: -499 * (43*time.Minute + 12*time.Second),
		burn: map[time.Duration]float64{5 * time.Minute: 0, time.Hour: 0, 6 * time.Hour: 0, 72 * time.Hour: 500},
	}, {
		// A gap: the last hour has no events at all. No data is not bad
		// data: nothing fires, and the 30-day figures still count what came
		// before.
		name: "gap in the last hours", def: Definition{Objective: 99.5, Window: Window{Days: 30}},
		minutes: []minute{{ago: 7 * 60, good: 90, total: 100}},
		sli:     0.9, remaining: -19, budget: 3*time.Hour + 36*time.Minute, remainingTime: -19 * (3*time.Hour + 36*time.Minute),
		burn: map[time.Duration]float64{5 * time.Minute: 0, time.Hour: 0, 6 * time.Hour: 0, 72 * time.Hour: 20},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			def := mustDef(t, tc.def)
			tr := newTracker(def, time.UTC)
			head := minuteOf(t0)
			tr.s.advance(head)
			for _, m := range tc.minutes {
				if !tr.s.add(head-int64(m.ago), counts{m.good, m.total}) {
					t.Fatalf("add %+v refused", m)
				}
			}
			f := tr.figures(head)
			if !f.HasData || !near(f.SLI, tc.sli) || !near(f.BudgetRemaining, tc.remaining) {
				t.Errorf("SLI %v, remaining %v; want %v, %v", f.SLI, f.BudgetRemaining, tc.sli, tc.remaining)
			}
			if d := f.BudgetRemainingTime() - tc.remainingTime; f.BudgetTime != tc.budget || d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("budget %v, remaining %v; want %v, %v", f.BudgetTime, f.BudgetRemainingTime(), tc.budget, tc.remainingTime)
			}
			for w, want := range tc.burn {
				if got := tr.burn(w); !near(got.Rate, want) {
					t.Errorf("burn over %s = %v; want %v", FormatWindow(w), got.Rate, want)
				}
			}
			fired := tr.evaluate()
			switch {
			case tc.alert == "" && fired != nil:
				t.Errorf("fired %+v; want nothing", fired)
			case tc.alert != "" && fired == nil:
				t.Errorf("nothing fired; want %s", tc.alert)
			case fired != nil:
				if fired.rule.Severity != tc.alert || fired.rule.Status != tc.status || tr.reason(fired) != tc.reason {
					t.Errorf("fired %s %s %q; want %s %s %q", fired.rule.Severity, fired.rule.Status, tr.reason(fired), tc.alert, tc.status, tc.reason)
				}
			}
		})
	}
}

// TestWindowEdges checks that a minute counts for exactly the window's
// length: a 7-day window holds it for 10,080 minutes including the minute
// itself, and a 5-minute window for 5.
func TestWindowEdges(t *testing.T) {
	def := mustDef(t, Definition{Objective: 99, Window: Window{Days: 7}})
	tr := newTracker(def, time.UTC)
	m0 := minuteOf(t0)
	tr.s.add(m0, counts{0, 10})
	for _, tc := range []struct {
		after       int64
		week, short int64 // total events over 7d and 5m
	}{{0, 10, 10}, {4, 10, 10}, {5, 10, 0}, {10079, 10, 0}, {10080, 0, 0}} {
		tr.s.advance(m0 + tc.after)
		if got := tr.compliance().total; got != tc.week {
			t.Errorf("%d minutes later: 7d total %d; want %d", tc.after, got, tc.week)
		}
		if got := tr.burn(5 * time.Minute).Events; got != tc.short {
			t.Errorf("%d minutes later: 5m total %d; want %d", tc.after, got, tc.short)
		}
	}
	start, end, length := tr.bounds(m0 + 10080)
	if !end.Equal(t0.Add(7*24*time.Hour+time.Minute)) || length != 7*24*time.Hour || !start.Equal(end.Add(-length)) {
		t.Errorf("bounds %v – %v (%v)", start, end, length)
	}
}

// TestCalendarMonthDST checks calendar-month windows in a zone with clock
// changes: March 2026 in Berlin is 743 hours long, October 745, June 720;
// the month starts at local midnight (23:00 or 22:00 UTC the day before)
// and the sums start again at the next month.
func TestCalendarMonthDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	def := mustDef(t, Definition{Objective: 99.9, Window: Window{CalendarMonth: true}})
	for _, tc := range []struct {
		at     time.Time
		start  time.Time
		length time.Duration
	}{
		{time.Date(2026, 3, 30, 12, 0, 0, 0, berlin), time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC), 743 * time.Hour},
		{time.Date(2026, 10, 30, 12, 0, 0, 0, berlin), time.Date(2026, 9, 30, 22, 0, 0, 0, time.UTC), 745 * time.Hour},
		{time.Date(2026, 6, 1, 0, 0, 0, 0, berlin), time.Date(2026, 5, 31, 22, 0, 0, 0, time.UTC), 720 * time.Hour},
	} {
		tr := newTracker(def, berlin)
		tr.s.advance(minuteOf(tc.at))
		start, _, length := tr.bounds(minuteOf(tc.at))
		if !start.Equal(tc.start) || length != tc.length {
			t.Errorf("at %v: month from %v, %v long; want %v, %v", tc.at, start, length, tc.start, tc.length)
		}
		// 0.1% of 743 h is 44 min 34.8 s.
		if want := time.Duration(math.Round(float64(tc.length) * 0.001)); tr.figures(minuteOf(tc.at)).BudgetTime != want {
			t.Errorf("budget %v; want %v", tr.figures(minuteOf(tc.at)).BudgetTime, want)
		}
	}

	// The minute before local midnight belongs to February, the one at it
	// to March; April starts the sums again.
	tr := newTracker(def, berlin)
	marchStart := minuteOf(time.Date(2026, 3, 1, 0, 0, 0, 0, berlin))
	tr.s.advance(marchStart + 60)
	if !tr.s.add(marchStart-1, counts{0, 7}) || !tr.s.add(marchStart, counts{3, 5}) {
		t.Fatal("add refused")
	}
	if c := tr.compliance(); c != (counts{3, 5}) {
		t.Fatalf("March so far %+v; want {3 5}", c)
	}
	april := minuteOf(time.Date(2026, 4, 1, 0, 0, 0, 0, berlin))
	tr.s.advance(april - 1)
	if c := tr.compliance(); c != (counts{3, 5}) {
		t.Fatalf("last minute of March %+v; want {3 5}", c)
	}
	tr.s.advance(april)
	if c := tr.compliance(); c != (counts{}) {
		t.Fatalf("first minute of April %+v; want none", c)
	}
	// A late minute of March no longer counts for April.
	tr.s.add(april-2, counts{0, 1})
	if c := tr.compliance(); c != (counts{}) {
		t.Fatalf("late March minute counted in April: %+v", c)
	}
}

// TestRollingWindowAcrossDST: a rolling day is 1,440 minutes whatever the
// clocks do.
func TestRollingWindowAcrossDST(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	def := mustDef(t, Definition{Objective: 99, Window: Window{Days: 1}})
	tr := newTracker(def, berlin)
	from := minuteOf(time.Date(2026, 3, 29, 0, 0, 0, 0, berlin)) // the day is 23 hours long locally
	for m := from; m < from+1440; m++ {
		tr.s.add(m, counts{1, 1})
	}
	if c := tr.compliance(); c.total != 1440 {
		t.Fatalf("one rolling day holds %d minutes; want 1440", c.total)
	}
	if _, _, l := tr.bounds(from + 1439); l != 24*time.Hour {
		t.Fatalf("length %v", l)
	}
}

// TestGapsAndLateData checks the running sums against a walk over the ring
// through random adds, corrections, late minutes and gaps, some longer than
// the ring.
func TestGapsAndLateData(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	def := mustDef(t, Definition{Objective: 99, Window: Window{Days: 1},
		Alerts: []AlertRule{{Long: time.Hour, Short: 5 * time.Minute, Factor: 2, Severity: data.SLOFastBurn, Status: data.PartialOutage}}})
	tr := newTracker(def, time.UTC)
	head := minuteOf(t0)
	tr.s.advance(head)
	for step := 0; step < 20000; step++ {
		switch r := rng.IntN(100); {
		case r < 50: // a new minute, often after a gap
			gap := int64(1)
			if rng.IntN(20) == 0 {
				gap = rng.Int64N(3000)
			}
			head += gap
			tr.s.advance(head)
		case r < 90: // a late or current minute
			m := head - rng.Int64N(1500)
			tot := rng.Int64N(50)
			ok := tr.s.add(m, counts{rng.Int64N(tot + 1), tot})
			if ok != (m > head-1440) {
				t.Fatalf("add at head-%d = %v", head-m, ok)
			}
		default: // a feed restating a minute
			m := head - rng.Int64N(100)
			tot := rng.Int64N(50)
			tr.s.set(m, counts{rng.Int64N(tot + 1), tot})
		}
		for i, w := range tr.s.wins {
			if got, want := tr.s.window(i), tr.s.sumRange(head-w+1, head); got != want {
				t.Fatalf("step %d: window %dm = %+v; walking the ring gives %+v", step, w, got, want)
			}
		}
	}
	// Refused: good > total, negative totals, counts beyond uint32.
	for _, c := range []counts{{5, 4}, {-1, 3}, {0, math.MaxUint32 + 1}} {
		if tr.s.add(head, counts{c.good - tr.s.get(head).good, c.total - tr.s.get(head).total}) {
			t.Errorf("minute set to %+v accepted", c)
		}
	}
}

func TestDefinitionValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		def   Definition
		field string
	}{
		{"objective 100", Definition{ID: "a", JourneyID: "j", Objective: 100, Window: Window{Days: 30}}, "objective"},
		{"objective 0", Definition{ID: "a", JourneyID: "j", Objective: 0, Window: Window{Days: 30}}, "objective"},
		{"91 days", Definition{ID: "a", JourneyID: "j", Objective: 99, Window: Window{Days: 91}}, "window"},
		{"no window", Definition{ID: "a", JourneyID: "j", Objective: 99}, "window"},
		{"latency without threshold", Definition{ID: "a", JourneyID: "j", Kind: Latency, Objective: 99, Window: Window{Days: 1}}, "threshold"},
		{"short ≥ long", Definition{ID: "a", JourneyID: "j", Objective: 99, Window: Window{Days: 1},
			Alerts: []AlertRule{{Long: time.Hour, Short: time.Hour, Factor: 2, Severity: "fast", Status: data.PartialOutage}}}, "alerts[0].short"},
		{"operational alert", Definition{ID: "a", JourneyID: "j", Objective: 99, Window: Window{Days: 1},
			Alerts: []AlertRule{{Long: time.Hour, Short: time.Minute, Factor: 2, Severity: "fast", Status: data.Operational}}}, "alerts[0].status"},
	} {
		err := tc.def.Validate()
		inv, ok := err.(*data.InvalidError)
		if !ok || inv.Field != tc.field {
			t.Errorf("%s: %v; want an invalid %s", tc.name, err, tc.field)
		}
	}
}
