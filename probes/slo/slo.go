package slo

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/data"
)

// Kind is what an SLO counts as a good event.
type Kind string

// The SLI kinds.
const (
	// Availability: good events are the successful ones.
	Availability Kind = "availability"
	// Latency: good events are the ones faster than a threshold.
	Latency Kind = "latency"
)

// Window is the compliance window of an SLO: the last Days days (or, for
// windows that are not whole days, Length), rolling by the minute, or the
// calendar month so far in the page's time zone.
type Window struct {
	Days          int           // 1 to 90 for a rolling window
	Length        time.Duration // instead of Days: whole minutes, 1 to 90 days
	CalendarMonth bool
}

// MaxDays is the longest rolling window.
const MaxDays = 90

// String says the window in words: "30 days", "1 day", "36 hours",
// "calendar month".
func (w Window) String() string {
	m := w.minutes()
	switch {
	case w.CalendarMonth:
		return "calendar month"
	case m == 24*60:
		return "1 day"
	case m%(24*60) == 0:
		return strconv.FormatInt(m/(24*60), 10) + " days"
	case m%60 == 0:
		return strconv.FormatInt(m/60, 10) + " hours"
	}
	return strconv.FormatInt(m, 10) + " minutes"
}

// Validate checks the window.
func (w Window) Validate() error {
	switch {
	case w.CalendarMonth && (w.Days != 0 || w.Length != 0):
		return data.Invalid("window", "a calendar month has no length of its own")
	case w.CalendarMonth:
		return nil
	case w.Days != 0 && w.Length != 0:
		return data.Invalid("window", "give days or a length, not both")
	case w.Length != 0 && (w.Length%time.Minute != 0 || w.Length < 24*time.Hour || w.Length > MaxDays*24*time.Hour):
		return data.Invalid("window", "%s is not whole minutes from 1 to %d days", w.Length, MaxDays)
	case w.Length == 0 && (w.Days < 1 || w.Days > MaxDays):
		return data.Invalid("window", "%d days is not between 1 and %d", w.Days, MaxDays)
	}
	return nil
}

// minutes is the longest the window can be, in minutes.
func (w Window) minutes() int64 {
	switch {
	case w.CalendarMonth:
		return 31 * 24 * 60
	case w.Length > 0:
		return int64(w.Length / time.Minute)
	}
	return int64(w.Days) * 24 * 60
}

// AlertRule is a multi-window burn-rate alert: it fires while the burn rate
// over both Long and Short is at least Factor. The long window makes it
// significant, the short one makes it stop soon after the burning does.
type AlertRule struct {
	Long, Short time.Duration
	Factor      float64
	Severity    string               // data.SLOFastBurn or data.SLOSlowBurn
	Status      data.ComponentStatus // what a firing rule sets on the components
}

// DefaultAlerts are the multi-window, multi-burn-rate alerts of the SRE
// workbook ("Alerting on SLOs"): 2% of a 30-day budget spent in an hour or 5%
// in six hours is a fast burn; 10% in three days a slow one.
func DefaultAlerts() []AlertRule {
	return []AlertRule{
		{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4, Severity: data.SLOFastBurn, Status: data.PartialOutage},
		{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6, Severity: data.SLOFastBurn, Status: data.PartialOutage},
		{Long: 3 * 24 * time.Hour, Short: 6 * time.Hour, Factor: 1, Severity: data.SLOSlowBurn, Status: data.DegradedPerformance},
	}
}

// MaxAlertWindow is the longest window an alert rule may use.
const MaxAlertWindow = 7 * 24 * time.Hour

// Validate checks the rule.
func (r AlertRule) Validate() error {
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"long", r.Long}, {"short", r.Short}} {
		if w.d < time.Minute || w.d > MaxAlertWindow || w.d%time.Minute != 0 {
			return data.Invalid(w.name, "%s is not a whole number of minutes from 1m to 7d", FormatWindow(w.d))
		}
	}
	if r.Short >= r.Long {
		return data.Invalid("short", "%s must be shorter than the long window (%s)", FormatWindow(r.Short), FormatWindow(r.Long))
	}
	if !(r.Factor > 0 && r.Factor <= 1e6) {
		return data.Invalid("factor", "%v must be a positive burn rate such as 14.4", r.Factor)
	}
	if r.Severity != data.SLOFastBurn && r.Severity != data.SLOSlowBurn {
		return data.Invalid("severity", "%q is not fast or slow", r.Severity)
	}
	if !r.Status.Valid() || r.Status == data.Operational || r.Status == data.UnderMaintenance {
		return data.Invalid("status", "%q must be degraded_performance, partial_outage or major_outage", r.Status)
	}
	return nil
}

// Definition is one SLO.
type Definition struct {
	ID        string
	JourneyID string
	Name      string // for people; the id when empty
	Position  int    // order among the journey's SLOs
	Kind      Kind
	// Threshold is, for a latency SLO, how fast a good event is: the feed
	// counts the events under it.
	Threshold time.Duration
	Objective float64 // percent of good events, 0 < Objective < 100
	Window    Window
	Alerts    []AlertRule // DefaultAlerts when nil
	// Components whose automatic input the SLO sets; empty for every
	// component of the journey.
	Components []string
	// StaleAfter is how long without data before the SLO is marked stale;
	// 10 minutes when zero.
	StaleAfter time.Duration
}

// DefaultStaleAfter is how long an SLO may go without data before it is
// stale.
const DefaultStaleAfter = 10 * time.Minute

// Validate checks the definition and fills in defaults.
func (d *Definition) Validate() error {
	if err := data.ValidateID("id", d.ID); err != nil {
		return err
	}
	if err := data.ValidateID("journey", d.JourneyID); err != nil {
		return err
	}
	if d.Name == "" {
		d.Name = d.ID
	}
	if err := data.ValidateText("name", d.Name, 200, true, false); err != nil {
		return err
	}
	switch d.Kind {
	case "":
		d.Kind = Availability
	case Availability:
	case Latency:
		if d.Threshold <= 0 {
			return data.Invalid("threshold", "a latency SLO needs a threshold such as 300ms")
		}
	default:
		return data.Invalid("sli", "%q is not availability or latency", d.Kind)
	}
	if !(d.Objective > 0 && d.Objective < 100) {
		return data.Invalid("objective", "%s must be a percentage between 0 and 100, such as 99.9", strconv.FormatFloat(d.Objective, 'g', -1, 64))
	}
	if err := d.Window.Validate(); err != nil {
		return err
	}
	if d.Alerts == nil {
		d.Alerts = DefaultAlerts()
	}
	for i, r := range d.Alerts {
		if err := r.Validate(); err != nil {
			var inv *data.InvalidError
			if errors.As(err, &inv) {
				return data.Invalid(fmt.Sprintf("alerts[%d].%s", i, inv.Field), "%s", inv.Reason)
			}
			return err
		}
	}
	for _, c := range d.Components {
		if err := data.ValidateID("components", c); err != nil {
			return err
		}
	}
	if d.StaleAfter <= 0 {
		d.StaleAfter = DefaultStaleAfter
	}
	return nil
}

// allowed is the share of events the objective allows to be bad, rounded
// to nine decimals of a percent so that 99.9 allows exactly 0.001 and not
// 0.0010000000000000009 (objectives are written with a few decimals).
func (d *Definition) allowed() float64 { return math.Round((100-d.Objective)*1e9) / 1e11 }

// windows returns the distinct alert windows in minutes, ascending.
func (d *Definition) alertWindows() []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, r := range d.Alerts {
		for _, w := range []time.Duration{r.Long, r.Short} {
			m := int64(w / time.Minute)
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// FormatWindow writes a window the way the SRE workbook does: 5m, 1h, 3d,
// 1h30m.
func FormatWindow(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return strconv.Itoa(int(d/day)) + "d"
	}
	if d >= time.Hour && d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	if d%time.Hour == 0 || d < time.Hour {
		if d%time.Minute == 0 {
			return strconv.Itoa(int(d/time.Minute)) + "m"
		}
	}
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return s
}

// FormatObjective writes a percentage without trailing zeros: 99.95%, 99%.
func FormatObjective(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}
