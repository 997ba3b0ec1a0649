package slo

import (
	"fmt"
	"math"
	"time"

	"github.com/statusd/statusd/data"
)

// tracker is one SLO's definition with its minutes and running sums: what
// the figures, burn rates and alerts are computed from.
type tracker struct {
	def       Definition
	loc       *time.Location
	s         *series
	main      int           // index of the compliance window in s.wins; -1 for a calendar month
	idx       map[int64]int // alert window in minutes → index in s.wins
	alertWins []int64       // the distinct alert windows in minutes, ascending
}

func newTracker(def Definition, loc *time.Location) *tracker {
	if loc == nil {
		loc = time.UTC
	}
	t := &tracker{def: def, loc: loc, main: -1, idx: map[int64]int{}}
	var wins []int64
	if !def.Window.CalendarMonth {
		wins = append(wins, def.Window.minutes())
		t.main = 0
	}
	t.alertWins = def.alertWindows()
	for _, w := range t.alertWins {
		if t.main == 0 && w == wins[0] {
			t.idx[w] = 0
			continue
		}
		t.idx[w] = len(wins)
		wins = append(wins, w)
	}
	var mloc *time.Location
	if def.Window.CalendarMonth {
		mloc = loc
	}
	t.s = newSeries(wins, mloc)
	return t
}

// compliance returns the counts over the compliance window.
func (t *tracker) compliance() counts {
	if t.main < 0 {
		return t.s.month
	}
	return t.s.window(t.main)
}

// bounds returns the compliance window at minute head: where it starts, where
// it ends (the end of head), and how long the whole window is, which for a
// calendar month is the month's length in the page's zone (743 hours for a
// March with a clock change, 744 without).
func (t *tracker) bounds(head int64) (start, end time.Time, length time.Duration) {
	end = minuteTime(head + 1)
	if t.main >= 0 {
		length = time.Duration(t.def.Window.minutes()) * time.Minute
		return end.Add(-length), end, length
	}
	from, to := t.s.monthBounds(head)
	return minuteTime(from), end, minuteTime(to).Sub(minuteTime(from))
}

// burn returns the burn rate over an alert window of w: the share of bad
// events over the share the objective allows. A window without events has
// rate 0 and Events 0.
func (t *tracker) burn(w time.Duration) data.BurnRate {
	c := t.s.window(t.idx[int64(w/time.Minute)])
	return burnRate(w, c, t.def.allowed())
}

func burnRate(w time.Duration, c counts, allowed float64) data.BurnRate {
	b := data.BurnRate{Window: w, Events: c.total}
	if c.total > 0 {
		b.Rate = float64(c.bad()) / float64(c.total) / allowed
	}
	return b
}

// figures computes the SLO's figures at minute head.
func (t *tracker) figures(head int64) data.SLOFigures {
	d := &t.def
	start, end, length := t.bounds(head)
	c := t.compliance()
	f := data.SLOFigures{
		SLOID: d.ID, JourneyID: d.JourneyID, Name: d.Name, Position: d.Position, Objective: d.Objective,
		Window: d.Window.String(), WindowStart: start, WindowEnd: end, Good: c.good, Total: c.total,
		BudgetTime: time.Duration(math.Round(float64(length) * d.allowed())),
	}
	if c.total > 0 {
		f.HasData = true
		f.SLI = float64(c.good) / float64(c.total)
		f.BudgetRemaining = 1 - (1-f.SLI)/d.allowed()
	}
	f.Burn = make([]data.BurnRate, 0, len(t.alertWins))
	for _, w := range t.alertWins {
		f.Burn = append(f.Burn, t.burn(time.Duration(w)*time.Minute))
	}
	return f
}

// firing is an alert rule that fires, with its burn rates.
type firing struct {
	rule        AlertRule
	long, short data.BurnRate
}

// evaluate returns the rule that fires with the worst status (the first of
// them in the definition's order), or nil. A rule fires when the burn rates
// over both of its windows are at least its factor; a window without events
// never fires.
func (t *tracker) evaluate() *firing {
	var best *firing
	for _, r := range t.def.Alerts {
		long, short := t.burn(r.Long), t.burn(r.Short)
		if long.Events == 0 || short.Events == 0 || long.Rate < r.Factor || short.Rate < r.Factor {
			continue
		}
		if best == nil || r.Status.Severity() > best.rule.Status.Severity() {
			best = &firing{rule: r, long: long, short: short}
		}
	}
	return best
}

// reason says why a firing rule sets the status, in words for the page.
func (t *tracker) reason(f *firing) string {
	return fmt.Sprintf("SLO %s: burning error budget %s× over %s and %s× over %s (objective %s)", t.def.Name,
		formatRate(f.long.Rate), FormatWindow(f.rule.Long), formatRate(f.short.Rate), FormatWindow(f.rule.Short),
		FormatObjective(t.def.Objective))
}

// formatRate writes a burn rate with one decimal, or as a whole number from
// 100 up.
func formatRate(r float64) string {
	// Rounded down so that a rate just under a threshold never reads as
	// the threshold; the epsilon keeps 100 computed as 99.999… at 100.
	if r >= 100-1e-9 {
		return fmt.Sprintf("%.0f", math.Floor(r+1e-9))
	}
	return fmt.Sprintf("%.1f", math.Floor(r*10+1e-9)/10)
}
